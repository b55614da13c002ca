// Corpus: raw tp writable programs (libbpf section names).
#include "corpus.h"
SEC("raw_tp.w/bpf_test_finish") int finish(__u64 *args)
{
	bump(1);
	return 0;
}
