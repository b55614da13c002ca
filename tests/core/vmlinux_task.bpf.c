// A libbpf-bootstrap-style tool against the running kernel's types: vmlinux.h comes from
// `bpftool btf dump file /sys/kernel/btf/vmlinux format c` (tests/core.rs writes it),
// and every field access is a CO-RE relocation against /sys/kernel/btf/vmlinux.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* A field no kernel has: guarded, so its poisoned read is dead code. */
struct task_struct___future {
	int no_such_field;
} __attribute__((preserve_access_index));

SEC("kprobe/wake_up_new_task")
int BPF_KPROBE(new_task, struct task_struct *p)
{
	pid_t pid = BPF_CORE_READ(p, pid);
	pid_t ppid = BPF_CORE_READ(p, real_parent, tgid);
	char comm[TASK_COMM_LEN];
	BPF_CORE_READ_STR_INTO(&comm, p, comm);
	long extra = 0;
	if (bpf_core_field_exists(((struct task_struct___future *)p)->no_such_field))
		extra = BPF_CORE_READ((struct task_struct___future *)p, no_such_field);
	if (bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID))
		extra += bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
	extra += bpf_core_type_size(struct task_struct) > 0;
	bpf_printk("new task %d (%s), parent %d", pid, comm, ppid + extra);
	return 0;
}

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(unlink_entry, int dfd, struct filename *name)
{
	const char *path = BPF_CORE_READ(name, name);
	char buf[64];
	bpf_probe_read_kernel_str(buf, sizeof(buf), path);
	bpf_printk("unlink %s", buf);
	return 0;
}
