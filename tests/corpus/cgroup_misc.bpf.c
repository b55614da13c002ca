// Corpus: cgroup misc programs (libbpf section names).
#include "corpus.h"
SEC("cgroup/sysctl") int sysctl(struct bpf_sysctl *ctx)
{
	return ctx->write ? 0 : 1;
}
SEC("cgroup/dev") int dev(struct bpf_cgroup_dev_ctx *ctx)
{
	short type = ctx->access_type & 0xffff;
	return !(type == 2 /* BPF_DEVCG_DEV_CHAR */ && ctx->major == 1 && ctx->minor == 3) ? 1 : 0;
}
