// Hash map from a program: insert, replace, NOEXIST/EXIST errors, delete.
// @run hash_ops => 0x1f
// @map h 01000000 = 0b00000000000000
// @map h 03000000 = 1e00000000000000
#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
SEC("syscall") int hash_ops(void *ctx)
{
	__u32 k1 = 1, k2 = 2, k3 = 3; __u64 v = 10, w = 30; int ok = 0;
	if (bpf_map_update_elem(&h, &k1, &v, BPF_NOEXIST) == 0) ok |= 1;
	if (bpf_map_update_elem(&h, &k1, &v, BPF_NOEXIST) == -17) ok |= 2;   /* EEXIST */
	if (bpf_map_update_elem(&h, &k2, &v, BPF_EXIST) == -2) ok |= 4;      /* ENOENT */
	bpf_map_update_elem(&h, &k2, &v, BPF_ANY);
	bpf_map_update_elem(&h, &k3, &w, BPF_ANY);
	__u64 *p = bpf_map_lookup_elem(&h, &k1);
	if (p) { *p += 1; ok |= 8; }
	if (bpf_map_delete_elem(&h, &k2) == 0 && bpf_map_delete_elem(&h, &k2) == -2) ok |= 16;
	return ok;
}
