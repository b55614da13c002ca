// Corpus: lsm programs (libbpf section names).
#include "corpus.h"
SEC("lsm/file_open") int check_open(__u64 *ctx)
{
	bump(0);
	return 0;
}
