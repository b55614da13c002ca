// Corpus: kprobe programs (libbpf section names).
#include "corpus.h"
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>
SEC("kprobe/do_sys_openat2") int BPF_KPROBE(open_enter, int dfd, const char *name)
{
	char buf[32];
	bpf_probe_read_user_str(buf, sizeof(buf), name);
	bump(dfd & 3);
	return 0;
}
SEC("kretprobe/do_sys_openat2") int BPF_KRETPROBE(open_exit, long ret)
{
	if (ret < 0)
		bump(1);
	return 0;
}
