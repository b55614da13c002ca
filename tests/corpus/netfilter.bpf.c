// Corpus: netfilter programs (libbpf section names).
#include "corpus.h"
SEC("netfilter") int nf(void *ctx)
{
	bump(0);
	return 1; /* NF_ACCEPT */
}
