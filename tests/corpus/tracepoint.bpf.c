// Corpus: tracepoint programs (libbpf section names).
#include "corpus.h"
struct openat_args { __u64 pad; int nr; long dfd; const char *filename; long flags; long mode; };
SEC("tp/syscalls/sys_enter_openat") int openat(struct openat_args *a)
{
	char name[16];
	bpf_probe_read_user_str(name, sizeof(name), a->filename);
	bump(name[0] == '/');
	return 0;
}
SEC("tracepoint/sched/sched_process_exit") int exits(void *ctx)
{
	bump(0);
	return 0;
}
