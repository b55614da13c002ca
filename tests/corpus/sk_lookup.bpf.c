// Corpus: sk lookup programs (libbpf section names).
#include "corpus.h"
SEC("sk_lookup") int lookup(struct bpf_sk_lookup *ctx)
{
	if (ctx->protocol == 6 && ctx->local_port == 7)
		bump(0);
	return SK_PASS;
}
