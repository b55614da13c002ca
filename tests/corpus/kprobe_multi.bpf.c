// Corpus: kprobe multi programs (libbpf section names).
#include "corpus.h"
SEC("kprobe.multi/vfs_read*") int vfs_reads(void *ctx)
{
	bump(bpf_get_smp_processor_id() & 3);
	return 0;
}
SEC("kretprobe.multi/vfs_write*") int vfs_writes(void *ctx)
{
	bump(2);
	return 0;
}
