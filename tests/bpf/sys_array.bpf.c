// Array map: lookups in and out of range, update flags.
// @run arr => 7
// @run arr => 7
// @map a 00000000 = 0200000000000000
// @map a 03000000 = 0a00000000000000
#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } a SEC(".maps");
SEC("syscall") int arr(void *ctx)
{
	__u32 k = 0, out = 4, last = 3; __u64 ten = 10; int ok = 0;
	__u64 *v = bpf_map_lookup_elem(&a, &k);
	if (v) { __sync_fetch_and_add(v, 1); ok |= 1; }
	if (!bpf_map_lookup_elem(&a, &out)) ok |= 2;
	if (bpf_map_update_elem(&a, &last, &ten, BPF_NOEXIST) == -17 && bpf_map_update_elem(&a, &last, &ten, BPF_ANY) == 0) ok |= 4;
	return ok;
}
