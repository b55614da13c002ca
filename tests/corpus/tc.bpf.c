// Corpus: tc programs (libbpf section names).
#include "corpus.h"
SEC("tc") int tc_mark(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	if (data + 14 > end)
		return 2; /* TC_ACT_SHOT */
	skb->mark = ((unsigned char *)data)[13];
	skb->tc_classid = 1;
	return 0; /* TC_ACT_OK */
}
SEC("classifier") int legacy_cls(struct __sk_buff *skb)
{
	bump(skb->protocol == bpf_htons(0x86dd));
	return -1; /* TC_ACT_UNSPEC */
}
SEC("action") int act(struct __sk_buff *skb)
{
	skb->priority = 3;
	return 0;
}
SEC("tc/ingress") int tcx_in(struct __sk_buff *skb)
{
	return skb->len > 1500 ? 2 : -1;
}
