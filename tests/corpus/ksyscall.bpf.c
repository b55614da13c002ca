// Corpus: ksyscall programs (libbpf section names).
#include "corpus.h"
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>
SEC("ksyscall/kill") int BPF_KPROBE(kill_enter)
{
	__u64 id = bpf_get_current_pid_tgid();
	bump(id & 3);
	return 0;
}
SEC("kretsyscall/kill") int BPF_KRETPROBE(kill_exit, long ret)
{
	bump(ret == 0);
	return 0;
}
