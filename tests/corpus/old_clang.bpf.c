// Corpus: old-clang symbols: global program and function symbols of type NOTYPE without a size (the test rewrites the assembly).
#include "corpus.h"
__attribute__((noinline)) unsigned half(unsigned v)
{
	return v / 2;
}
SEC("socket") int old_sock(struct __sk_buff *skb)
{
	bump(half(skb->len) & 3);
	return 0;
}
SEC("kprobe/vfs_write") int old_probe(void *ctx)
{
	bump(3);
	return 0;
}
