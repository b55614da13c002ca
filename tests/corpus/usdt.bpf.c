// Corpus: usdt programs (libbpf section names).
#include "corpus.h"
SEC("usdt/libc.so.6:libc:setjmp") int on_setjmp(void *ctx)
{
	bump(3);
	return 0;
}
