// Corpus: legacy `maps` section with a 32-byte definition whose tail is zero (libbpf accepts larger defs with a zero tail).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct bpf_map_def_32 { unsigned int type, key_size, value_size, max_entries, map_flags, inner_map_idx, numa_node, future; };
struct bpf_map_def_32 stats SEC("maps") = { BPF_MAP_TYPE_ARRAY, 4, 8, 2, 0, 0, 0, 0 };
SEC("xdp") int xdp_stats(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&stats, &k);
	if (v)
		*v += ctx->data_end - ctx->data;
	return XDP_PASS;
}
