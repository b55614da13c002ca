// Corpus: global data: .data, .rodata (frozen), .bss and a named .data section.
#include "corpus.h"
volatile const __u32 threshold = 100;
__u64 hits = 0;
__u64 total = 5;
char fmt[] SEC(".data.strings") = "len %d";
SEC("xdp") int xdp_globals(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	total += len;
	if (len > threshold) {
		hits++;
		bpf_trace_printk(fmt, sizeof(fmt), len);
	}
	return XDP_PASS;
}
