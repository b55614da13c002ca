// XDP: parse Ethernet, pass IPv4, drop the rest; short packets aborted.
// @run xdp_eth in=ffffffffffff0000000000010800aabbccdd => 2
// @run xdp_eth in=ffffffffffff00000000000186ddaabbccdd => 1
#include "common.h"
#include <linux/if_ether.h>
SEC("xdp") int xdp_eth(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end) return XDP_ABORTED;
	return eth->h_proto == bpf_htons(ETH_P_IP) ? XDP_PASS : XDP_DROP;
}
