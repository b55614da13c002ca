// Corpus: struct_ops, as a libbpf-bootstrap TCP congestion control writes it: programs in
// struct_ops/ sections, a `.struct_ops` map whose function-pointer members name them (and a
// `.struct_ops.link` one, attached by link), filled from `.rel.struct_ops`.
#include "corpus.h"
struct sock;
/* The kernel's layout (vmlinux.h would give it): members are matched by name. */
struct tcp_congestion_ops {
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	void (*set_state)(struct sock *sk, __u8 new_state);
	void (*cwnd_event)(struct sock *sk, int ev);
	void (*in_ack_event)(struct sock *sk, __u32 flags);
	void (*pkts_acked)(struct sock *sk, const void *sample);
	__u32 (*min_tso_segs)(struct sock *sk);
	void (*cong_control)(struct sock *sk, __u32 ack, int flag, const void *rs);
	__u32 (*undo_cwnd)(struct sock *sk);
	__u32 (*sndbuf_expand)(struct sock *sk);
	__u64 (*get_info)(struct sock *sk, __u32 ext, int *attr, void *info);
	char name[16];
	void *owner;
	void *list[2];
	__u32 key;
	__u32 flags;
	void (*init)(struct sock *sk);
	void (*release)(struct sock *sk);
	__u64 reserved[5];
};

SEC("struct_ops/ssthresh") __u32 ca_ssthresh(__u64 *ctx)
{
	bump(0);
	return 2;
}
SEC("struct_ops/cong_avoid") void ca_cong_avoid(__u64 *ctx)
{
	__u32 acked = ctx[2];
	if (acked > 8)
		bump(1);
}
SEC("struct_ops/undo_cwnd") __u32 ca_undo_cwnd(__u64 *ctx)
{
	return 10;
}
SEC("struct_ops/init") void ca_init(__u64 *ctx)
{
	bump(2);
}

SEC(".struct_ops") struct tcp_congestion_ops rvbpf_ca = {
	.ssthresh = (void *)ca_ssthresh,
	.cong_avoid = (void *)ca_cong_avoid,
	.undo_cwnd = (void *)ca_undo_cwnd,
	.init = (void *)ca_init,
	.name = "rvbpf_ca",
};
SEC(".struct_ops.link") struct tcp_congestion_ops rvbpf_ca_link = {
	.ssthresh = (void *)ca_ssthresh,
	.cong_avoid = (void *)ca_cong_avoid,
	.undo_cwnd = (void *)ca_undo_cwnd,
	.name = "rvbpf_ca_link",
};
