// Corpus: xdp programs (libbpf section names).
#include "corpus.h"
SEC("xdp") int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 14 > end)
		return XDP_DROP;
	bump(((unsigned char *)data)[12] & 3);
	return XDP_PASS;
}
SEC("xdp.frags") int xdp_frags(struct xdp_md *ctx)
{
	bump(ctx->rx_queue_index & 3);
	return XDP_PASS;
}
SEC("xdp/devmap") int xdp_devmap(struct xdp_md *ctx)
{
	return ctx->ingress_ifindex ? XDP_PASS : XDP_DROP;
}
