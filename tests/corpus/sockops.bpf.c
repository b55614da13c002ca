// Corpus: sockops programs (libbpf section names).
#include "corpus.h"
SEC("sockops") int tcp_tune(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case 1: /* BPF_SOCK_OPS_TIMEOUT_INIT */
		skops->reply = 10;
		break;
	case 4: /* BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB */
		bump(skops->family == 2);
		break;
	}
	return 1;
}
