// Corpus: BTF maps-in-maps: an array of arrays filled at load (`values = { [i] = &map }`),
// a hash of hashes (BPF_F_NO_PREALLOC), an array of ring buffers; lookups through both
// levels, and the misuses the kernel refuses.
#include "corpus.h"
struct inner_array { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); };
struct inner_array slot0 SEC(".maps"), slot2 SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_array);
} outer_array SEC(".maps") = { .values = { [0] = &slot0, [2] = &slot2 } };
struct inner_hash { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u64); __type(value, __u32); };
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
	__array(values, struct inner_hash);
} outer_hash SEC(".maps");
struct inner_ring { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); };
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_ring);
} rings SEC(".maps");

SEC("xdp") int nested_lookup(struct xdp_md *ctx)
{
	__u32 outer = ctx->rx_queue_index & 3, k = 1;
	void *inner = bpf_map_lookup_elem(&outer_array, &outer);
	if (!inner)
		return XDP_PASS;
	__u64 *v = bpf_map_lookup_elem(inner, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}

SEC("tc") int hash_of_hashes(struct __sk_buff *skb)
{
	__u32 bucket = skb->mark;
	__u64 flow = ((__u64)skb->hash << 32) | skb->priority;
	__u32 one = 1;
	void *inner = bpf_map_lookup_elem(&outer_hash, &bucket);
	if (!inner)
		return 0;
	__u32 *seen = bpf_map_lookup_elem(inner, &flow);
	if (seen)
		return *seen;
	bpf_map_update_elem(inner, &flow, &one, BPF_NOEXIST);
	bpf_map_delete_elem(inner, &flow);
	return 1;
}

SEC("kprobe/do_nanosleep") int ring_per_cpu(void *ctx)
{
	__u32 i = bpf_get_smp_processor_id() & 1;
	void *ring = bpf_map_lookup_elem(&rings, &i);
	if (!ring)
		return 0;
	__u64 pid = bpf_get_current_pid_tgid();
	bpf_ringbuf_output(ring, &pid, sizeof(pid), 0);
	return 0;
}

/* Refused by both: the inner map used before its null check. */
SEC("xdp") int inner_unchecked(struct xdp_md *ctx)
{
	__u32 outer = 0, k = 0;
	void *inner = bpf_map_lookup_elem(&outer_array, &outer);
	asm volatile("" : "+r"(inner));
	__u64 *v = bpf_map_lookup_elem(inner, &k);
	return v ? XDP_DROP : XDP_PASS;
}

/* Refused by both: programs may only look maps-in-maps up, not change them. */
SEC("xdp") int outer_update(struct xdp_md *ctx)
{
	__u32 k = 0, v = 0;
	bpf_map_update_elem(&outer_array, &k, &v, BPF_ANY);
	return XDP_PASS;
}

/* Refused by both: an inner map's value is read past its end. */
SEC("xdp") int inner_past_value(struct xdp_md *ctx)
{
	__u32 outer = 2, k = 0;
	void *inner = bpf_map_lookup_elem(&outer_array, &outer);
	if (!inner)
		return XDP_PASS;
	__u64 *v = bpf_map_lookup_elem(inner, &k);
	if (!v)
		return XDP_PASS;
	return v[1] ? XDP_DROP : XDP_PASS;
}
