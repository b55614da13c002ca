// Corpus: cgroup sock programs (libbpf section names).
#include "corpus.h"
SEC("cgroup/sock_create") int sock_create(struct bpf_sock *sk)
{
	if (sk->type == 3 /* SOCK_RAW */)
		return 0;
	sk->mark = 7;
	return 1;
}
SEC("cgroup/sock_release") int sock_release(struct bpf_sock *sk)
{
	bump(sk->protocol & 3);
	return 1;
}
SEC("cgroup/post_bind4") int post_bind4(struct bpf_sock *sk)
{
	return sk->src_port != 22;
}
SEC("cgroup/post_bind6") int post_bind6(struct bpf_sock *sk)
{
	return sk->src_ip6[0] != 0 || sk->src_port > 1024;
}
