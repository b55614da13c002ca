// Corpus: socket filter programs (libbpf section names).
#include "corpus.h"
SEC("socket") int keep_ipv4(struct __sk_buff *skb)
{
	__u16 proto = 0;
	if (bpf_skb_load_bytes(skb, 12, &proto, 2) < 0)
		return 0;
	bump(0);
	return proto == bpf_htons(0x0800) ? skb->len : 0;
}
