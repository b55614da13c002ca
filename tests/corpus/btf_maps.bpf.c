// Corpus: BTF `.maps` of every kind the runtime has, with LIBBPF_PIN_BY_NAME and a prog array filled at load.
#include "corpus.h"
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); __uint(pinning, LIBBPF_PIN_BY_NAME); } pinned SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u64); } per_cpu SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 64); __type(key, __u64); __type(value, __u32); } lru SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");
int tail(void *ctx);
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 2); __type(key, __u32); __array(values, int (void *)); } progs SEC(".maps") = { .values = { [1] = (void *)&tail } };
SEC("kprobe/do_nanosleep") int tail(void *ctx)
{
	bump(1);
	return 0;
}
SEC("kprobe/do_nanosleep") int head(void *ctx)
{
	__u32 k = 0;
	__u64 one = 1, key = bpf_get_current_pid_tgid();
	__u32 v = 7;
	bpf_map_update_elem(&pinned, &k, &one, BPF_NOEXIST);
	bpf_map_update_elem(&per_cpu, &k, &one, BPF_ANY);
	bpf_map_update_elem(&lru, &key, &v, BPF_ANY);
	__u64 *e = bpf_ringbuf_reserve(&events, 8, 0);
	if (e) {
		*e = key;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_tail_call(ctx, &progs, 1);
	return 0;
}
