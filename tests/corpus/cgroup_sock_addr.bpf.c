// Corpus: cgroup sock addr programs (libbpf section names).
#include "corpus.h"
SEC("cgroup/connect4") int connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->user_ip4 == bpf_htonl(0x7f000001) && ctx->user_port == bpf_htons(80)) {
		ctx->user_ip4 = bpf_htonl(0x7f000002);
		ctx->user_port = bpf_htons(8080);
	}
	return 1;
}
SEC("cgroup/connect6") int connect6(struct bpf_sock_addr *ctx)
{
	if (ctx->user_ip6[3] == bpf_htonl(1))
		ctx->user_port = bpf_htons(8080);
	return 1;
}
SEC("cgroup/bind4") int bind4(struct bpf_sock_addr *ctx)
{
	return ctx->user_port == bpf_htons(22) ? 0 : 1;
}
SEC("cgroup/sendmsg4") int sendmsg4(struct bpf_sock_addr *ctx)
{
	ctx->msg_src_ip4 = bpf_htonl(0x0a000001);
	return 1;
}
SEC("cgroup/sendmsg6") int sendmsg6(struct bpf_sock_addr *ctx)
{
	ctx->msg_src_ip6[3] = bpf_htonl(1);
	return 1;
}
SEC("cgroup/recvmsg4") int recvmsg4(struct bpf_sock_addr *ctx)
{
	bump(ctx->type & 3);
	return 1;
}
SEC("cgroup/getpeername6") int getpeername6(struct bpf_sock_addr *ctx)
{
	return 1;
}
SEC("cgroup/getsockname4") int getsockname4(struct bpf_sock_addr *ctx)
{
	ctx->user_port = bpf_htons(1);
	return 1;
}
