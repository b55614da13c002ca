// The hello world of the seed design: a kprobe that counts calls per process in a hash
// map, prints with bpf_printk and sends one event per call through a ring buffer.
// Its context is the RISC-V register set (struct pt_regs), read with libbpf's macros.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <asm/ptrace.h>   /* struct user_regs_struct: riscv64 headers */
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct event {
	__u32 pid;
	__u32 calls;
	__u64 dfd;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(hello, int dfd, const char *filename)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, seen = 1;
	__u64 *n = bpf_map_lookup_elem(&calls, &pid);

	if (n)
		seen = __sync_add_and_fetch(n, 1);
	else
		bpf_map_update_elem(&calls, &pid, &one, BPF_NOEXIST);
	bpf_printk("hello from pid %d: call %llu, dfd %d", pid, seen, dfd);

	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->calls = seen;
	e->dfd = dfd;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
