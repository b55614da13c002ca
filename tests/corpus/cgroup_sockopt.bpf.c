// Corpus: cgroup sockopt programs (libbpf section names).
#include "corpus.h"
SEC("cgroup/getsockopt") int getsockopt(struct bpf_sockopt *ctx)
{
	__u8 *v = ctx->optval, *end = ctx->optval_end;
	if (ctx->level == 6 /* SOL_TCP */ && v + 1 <= end)
		bump(*v & 3);
	ctx->retval = 0;
	return 1;
}
SEC("cgroup/setsockopt") int setsockopt(struct bpf_sockopt *ctx)
{
	if (ctx->optname == 1)
		ctx->optlen = -1; /* keep the kernel's handling */
	return 1;
}
