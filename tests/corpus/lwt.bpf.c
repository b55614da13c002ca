// Corpus: lwt programs (libbpf section names).
#include "corpus.h"
SEC("lwt_in") int tunnel_in(struct __sk_buff *skb)
{
	bump(0);
	return BPF_OK;
}
SEC("lwt_out") int tunnel_out(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	return data + 20 > end ? BPF_DROP : BPF_OK;
}
SEC("lwt_xmit") int tunnel_xmit(struct __sk_buff *skb)
{
	skb->mark = 1;
	return BPF_OK;
}
SEC("lwt_seg6local") int seg6(struct __sk_buff *skb)
{
	return BPF_OK;
}
