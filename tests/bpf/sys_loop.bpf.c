// A bounded loop over an array map.
// @run loop => 120
#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 16); __type(key, __u32); __type(value, __u32); } vals SEC(".maps");
SEC("syscall") int loop(void *ctx)
{
	__u32 sum = 0;
	for (__u32 i = 0; i < 16; i++) {
		__u32 k = i;
		__u32 *v = bpf_map_lookup_elem(&vals, &k);
		if (!v) return -1;
		*v = i;
		sum += i;
	}
	return sum;
}
