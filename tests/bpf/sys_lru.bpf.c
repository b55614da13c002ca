// LRU hash: inserting past max_entries evicts instead of failing.
// @run lru => 16
#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u32); } lru_map SEC(".maps");
SEC("syscall") int lru(void *ctx)
{
	int ok = 0;
	for (__u32 i = 0; i < 16; i++) {
		__u32 k = i;
		if (bpf_map_update_elem(&lru_map, &k, &k, BPF_ANY) == 0) ok++;
	}
	return ok;
}
