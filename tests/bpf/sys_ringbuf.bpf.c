// Ring buffer: output, reserve/submit, reserve/discard, query.
// @run rb => 48
#include "common.h"
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rbuf SEC(".maps");
SEC("syscall") int rb(void *ctx)
{
	__u64 x = 0xabcdef;
	if (bpf_ringbuf_output(&rbuf, &x, sizeof(x), 0)) return -1;
	__u32 *p = bpf_ringbuf_reserve(&rbuf, 4, 0);
	if (!p) return -2;
	*p = 7;
	bpf_ringbuf_submit(p, 0);
	__u64 *q = bpf_ringbuf_reserve(&rbuf, 8, 0);
	if (!q) return -3;
	bpf_ringbuf_discard(q, 0);
	return bpf_ringbuf_query(&rbuf, BPF_RB_AVAIL_DATA) - bpf_ringbuf_query(&rbuf, BPF_RB_CONS_POS) + 0;
}
