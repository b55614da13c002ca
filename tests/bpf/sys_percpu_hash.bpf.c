// Per-CPU hash: a program insert writes its CPU's value and zeroes the others.
// @run pch => 0
#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 4); __type(key, __u64); __type(value, __u32); } pch_map SEC(".maps");
SEC("syscall") int pch(void *ctx)
{
	__u64 k = 0x1122334455667788; __u32 v = 77;
	return bpf_map_update_elem(&pch_map, &k, &v, BPF_ANY);
}
