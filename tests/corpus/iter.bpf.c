// Corpus: iter programs (libbpf section names).
#include "corpus.h"
SEC("iter/task") int tasks(void *ctx)
{
	bump(1);
	return 0;
}
