// Tail calls through a prog array filled from `values`; an empty slot falls through.
// (XDP: Linux allows prog arrays only in non-sleepable programs, so not in syscall ones.)
// @run entry in=0000000000000000000000000800 => 3
// @map seen 00000000 = 01000000
// @map seen 01000000 = 01000000
#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u32); } seen SEC(".maps");
SEC("xdp") int target(struct xdp_md *ctx)
{
	__u32 k = 1; __u32 *v = bpf_map_lookup_elem(&seen, &k);
	if (v) *v += 1;
	return XDP_TX;
}
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 8); __uint(key_size, 4); __array(values, int(void *)); } progs SEC(".maps") = { .values = { [5] = (void *)&target } };
SEC("xdp") int entry(struct xdp_md *ctx)
{
	__u32 k = 0; __u32 *v = bpf_map_lookup_elem(&seen, &k);
	if (v) *v += 1;
	bpf_tail_call(ctx, &progs, 3);   /* empty: falls through */
	bpf_tail_call(ctx, &progs, 5);
	return XDP_ABORTED;
}
