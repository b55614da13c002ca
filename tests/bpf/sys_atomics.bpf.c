// Atomic adds on a map value (XADD at v1, fetch forms at v3).
// @run atom => 0
// @run atom => 0
// @map at 00000000 = 0a00000000000000
#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } at SEC(".maps");
SEC("syscall") int atom(void *ctx)
{
	__u32 k = 0; __u64 *v = bpf_map_lookup_elem(&at, &k);
	if (!v) return -1;
	__sync_fetch_and_add(v, 5);
	return 0;
}
