// Corpus: bpf-to-bpf calls: static and global functions in .text shared by two programs.
#include "corpus.h"
static __attribute__((noinline)) int classify(__u32 len)
{
	return len > 1000 ? 2 : len > 100;
}
__attribute__((noinline)) int global_bucket(__u32 v)
{
	return v & 3;
}
SEC("socket") int sock_bucket(struct __sk_buff *skb)
{
	bump(global_bucket(classify(skb->len)));
	return 0;
}
SEC("xdp") int xdp_bucket(struct xdp_md *ctx)
{
	bump(classify(ctx->data_end - ctx->data));
	return XDP_PASS;
}
