// XDP: swap source and destination MAC and send back (XDP_TX); the packet changes.
// @run xdp_swap in=0102030405060a0b0c0d0e0f0800 => 3 out=0a0b0c0d0e0f0102030405060800
#include "common.h"
#include <linux/if_ether.h>
SEC("xdp") int xdp_swap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end) return XDP_ABORTED;
	unsigned char tmp[ETH_ALEN];
	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
	return XDP_TX;
}
