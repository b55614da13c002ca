// Corpus: tp btf programs (libbpf section names).
#include "corpus.h"
SEC("tp_btf/sched_switch") int btf_switch(__u64 *ctx)
{
	bump(ctx[0] & 1);
	return 0;
}
