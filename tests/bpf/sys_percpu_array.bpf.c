// Per-CPU array: each run increments its CPU's slot.
// @run pca => 1
// @run pca => 1
#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u32); } pca_map SEC(".maps");
SEC("syscall") int pca(void *ctx)
{
	__u32 k = 1;
	__u32 *v = bpf_map_lookup_elem(&pca_map, &k);
	if (!v) return 0;
	*v += 1;
	return 1;
}
