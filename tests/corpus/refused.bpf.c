// Corpus: programs the kernel refuses, each for its own reason; rvbpf must refuse them too.
#include "corpus.h"
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } h SEC(".maps");
SEC("xdp") int no_bounds_check(struct xdp_md *ctx)
{
	return *(volatile __u8 *)(long)ctx->data;
}
SEC("kprobe/x") int no_null_check(void *ctx)
{
	__u32 k = 1;
	__u64 *v = bpf_map_lookup_elem(&h, &k);
	asm volatile("" : "+r"(v));
	return *v;
}
SEC("cgroup_skb/ingress") int bad_return(struct __sk_buff *skb)
{
	return 2 + (skb->len > 0);
}
SEC("xdp") int ctx_past_end(struct xdp_md *ctx)
{
	return *(volatile __u32 *)((char *)ctx + 24);
}
SEC("socket") int writes_len(struct __sk_buff *skb)
{
	skb->len = 0;
	return 0;
}
SEC("cgroup/sock_create") int post_bind_field(struct bpf_sock *sk)
{
	return sk->src_port != 0;
}
SEC("cgroup/recvmsg4") int recvmsg_zero(struct bpf_sock_addr *ctx)
{
	return 0;
}
