// Corpus: several programs in one section, static ones among them (libbpf keeps static programs outside .text).
#include "corpus.h"
SEC("xdp") static int xdp_static(struct xdp_md *ctx)
{
	bump(0);
	return XDP_PASS;
}
SEC("xdp") int xdp_global(struct xdp_md *ctx)
{
	bump(1);
	return XDP_DROP;
}
SEC("tp/sched/sched_wakeup") static int wakeup_a(void *ctx)
{
	return 0;
}
SEC("tp/sched/sched_wakeup") static int wakeup_b(void *ctx)
{
	bump(2);
	return 0;
}
