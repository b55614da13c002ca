// Corpus: fmod ret programs (libbpf section names).
#include "corpus.h"
SEC("fmod_ret/bpf_modify_return_test") int modify(__u64 *ctx)
{
	bump(0);
	return 0;
}
