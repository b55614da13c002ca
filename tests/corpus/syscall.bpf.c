// Corpus: syscall programs (libbpf section names).
#include "corpus.h"
SEC("syscall") int sys(void *ctx)
{
	bump(0);
	return 0;
}
