// Maps-in-maps from a program: an array of arrays filled at load, a hash of hashes filled
// by the program through its inner map; lookups through both levels, updates and deletes
// in inner maps, and an absent slot read as NULL.
// @run mim in=07000000 => 0x1f
// @run mim in=07000000 => 0x1f
// @map slot0 01000000 = 0800000000000000
// @map slot2 01000000 = 0700000000000000
// @map slot2 03000000 = 0e00000000000000
// @map inner_h 0500000000000000 = 02000000
#include "common.h"
struct inner_array { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); };
struct inner_array slot0 SEC(".maps"), slot2 SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_array);
} outer SEC(".maps") = { .values = { [0] = &slot0, [2] = &slot2 } };
struct inner_hash { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, __u64); __type(value, __u32); };
struct inner_hash inner_h SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_hash);
} by_id SEC(".maps") = { .values = { [3] = &inner_h } };
SEC("syscall") int mim(__u32 *ctx)
{
	__u32 zero = 0, one = 1, two = 2, three = 3, miss = 1;
	__u64 n = *ctx, flow = 5;
	int ok = 0;
	__u64 *v;
	void *a = bpf_map_lookup_elem(&outer, &zero);
	if (a && (v = bpf_map_lookup_elem(a, &one))) {
		*v += n + 1 - (*v ? 8 : 0);   /* 8, then 8 again */
		ok |= 1;
	}
	void *c = bpf_map_lookup_elem(&outer, &two);
	if (c) {
		__u64 w = n * 2;
		if (bpf_map_update_elem(c, &one, &n, BPF_ANY) == 0 && bpf_map_update_elem(c, &three, &w, BPF_ANY) == 0)
			ok |= 2;
	}
	if (!bpf_map_lookup_elem(&outer, &miss))
		ok |= 4;
	void *h = bpf_map_lookup_elem(&by_id, &three);
	if (h) {
		__u32 *cnt = bpf_map_lookup_elem(h, &flow);
		__u32 first = 1;
		if (!cnt && bpf_map_update_elem(h, &flow, &first, BPF_NOEXIST) == 0)
			ok |= 8;
		else if (cnt) {
			*cnt += 1;
			ok |= 8;
		}
		__u64 gone = 77;
		if (bpf_map_update_elem(h, &gone, &first, BPF_ANY) == 0 && bpf_map_delete_elem(h, &gone) == 0)
			ok |= 16;
	}
	return ok;
}
