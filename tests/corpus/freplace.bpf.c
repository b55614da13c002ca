// Corpus: freplace: an XDP program whose verdict comes from a global function, and an
// extension that replaces that function (loaded into Linux with the XDP program as
// attach_prog_fd and the function's BTF id). No global data, so that the object's BTF loads
// into the kernel as clang wrote it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
__attribute__((noinline)) int verdict(struct xdp_md *ctx)
{
	return ctx->rx_queue_index ? XDP_DROP : XDP_PASS;
}
SEC("xdp") int xdp_entry(struct xdp_md *ctx)
{
	return verdict(ctx);
}
SEC("freplace/verdict") int new_verdict(struct xdp_md *ctx)
{
	return XDP_PASS;
}
