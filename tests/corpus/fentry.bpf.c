// Corpus: fentry programs (libbpf section names).
#include "corpus.h"
SEC("fentry/do_unlinkat") int unlink_enter(__u64 *ctx)
{
	bump((int)ctx[0] & 3);
	return 0;
}
SEC("fexit/do_unlinkat") int unlink_exit(__u64 *ctx)
{
	bump((long)ctx[2] < 0);
	return 0;
}
