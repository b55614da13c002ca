// A tail-call chain: the entry program jumps through a prog array to stage 1, stage 1
// to stage 2; each stage records that it ran. The array is filled at load time from
// `values`, as libbpf does.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} ran SEC(".maps");

static __always_inline void mark(__u32 stage)
{
	__u64 *v = bpf_map_lookup_elem(&ran, &stage);
	if (v)
		*v += 1;
}

SEC("syscall")
int stage2(void *ctx)
{
	mark(2);
	return 2;
}

SEC("syscall")
int stage1(void *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int(void *));
} jump SEC(".maps") = {
	.values = { [1] = (void *)&stage1, [2] = (void *)&stage2 },
};

SEC("syscall")
int stage1(void *ctx)
{
	mark(1);
	bpf_tail_call(ctx, &jump, 2);
	return -1;
}

SEC("syscall")
int entry(void *ctx)
{
	mark(0);
	bpf_tail_call(ctx, &jump, 1);
	return -1; /* reached only when the tail call fails */
}
