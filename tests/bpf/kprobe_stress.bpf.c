// Fired from many threads at once by tests/concurrency.rs: a hash counter per caller
// (a0) and one shared by all (atomic adds), a per-CPU counter (plain adds: one run per
// CPU at a time), and one ring-buffer record per call.
// @run stress regs=a0=3 => 0
// @map per_caller 03000000 = 0100000000000000
#include "common.h"
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } per_caller SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } per_cpu SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 16 << 20); } records SEC(".maps");
static __always_inline void count(__u32 key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&per_caller, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else if (bpf_map_update_elem(&per_caller, &key, &one, BPF_NOEXIST) == -17) {
		v = bpf_map_lookup_elem(&per_caller, &key);
		if (v)
			__sync_fetch_and_add(v, 1);
	}
}
SEC("kprobe/stress") int BPF_KPROBE(stress, __u32 caller, __u64 seq)
{
	count(caller);
	count(0xffff);
	__u32 z = 0;
	__u64 *c = bpf_map_lookup_elem(&per_cpu, &z);
	if (c)
		*c += 1;
	__u64 rec = (__u64)caller << 32 | (__u32)seq;
	return bpf_ringbuf_output(&records, &rec, sizeof(rec), 0);
}
