// XDP context fields beyond the packet pointers, and a per-CPU count of packet bytes.
// @run xdp_len in=000000000000000000000000080000000000 => 18
#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } bytes SEC(".maps");
SEC("xdp") int xdp_len(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 len = ctx->data_end - ctx->data;
	__u64 *v = bpf_map_lookup_elem(&bytes, &k);
	if (v) *v += len;
	if (ctx->data_meta > ctx->data) return XDP_ABORTED;
	return len;
}
