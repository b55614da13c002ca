// A map referenced from a .text subprogram: the relocation moves with the copy.
// @run msub => 5
// @map cnt 00000000 = 0500000000000000
#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } cnt SEC(".maps");
static __attribute__((noinline)) int bump(__u64 n)
{
	__u32 k = 0; __u64 *v = bpf_map_lookup_elem(&cnt, &k);
	if (!v) return 0;
	*v += n;
	return *v;
}
SEC("syscall") int msub(void *ctx) { return bump(2) + bump(3) - 2; }
