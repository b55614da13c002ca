// Corpus: uprobe programs (libbpf section names).
#include "corpus.h"
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>
SEC("uprobe//bin/sh:main") int BPF_KPROBE(sh_main, int argc)
{
	bump(argc > 1);
	return 0;
}
SEC("uretprobe//bin/sh:main") int BPF_KRETPROBE(sh_main_ret, int rc)
{
	bump(rc != 0);
	return 0;
}
