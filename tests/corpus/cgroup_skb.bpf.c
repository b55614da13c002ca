// Corpus: cgroup skb programs (libbpf section names).
#include "corpus.h"
SEC("cgroup_skb/ingress") int cg_in(struct __sk_buff *skb)
{
	bump(skb->family == 10);
	return 1;
}
SEC("cgroup_skb/egress") int cg_out(struct __sk_buff *skb)
{
	/* 2: drop with congestion notification, an egress-only return value. */
	return skb->len > 9000 ? 2 : 1;
}
SEC("cgroup/skb") int cg_legacy(struct __sk_buff *skb)
{
	return skb->remote_port != 0;
}
