// Corpus: a samples/bpf-style map-in-map: 28-byte bpf_map_def, the outer hash of maps
// naming its template by inner_map_idx (index 1: the second definition in section maps).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct bpf_map_def_28 { unsigned int type, key_size, value_size, max_entries, map_flags, inner_map_idx, numa_node; };
struct bpf_map_def_28 port_maps SEC("maps") = { BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 16, 0, 1, 0 };
struct bpf_map_def_28 port_tmpl SEC("maps") = { BPF_MAP_TYPE_ARRAY, 4, 4, 256, 0, 0, 0 };
SEC("socket") int by_protocol(struct __sk_buff *skb)
{
	__u32 proto = skb->protocol, idx = skb->len & 255;
	void *inner = bpf_map_lookup_elem(&port_maps, &proto);
	if (!inner)
		return 0;
	__u32 *keep = bpf_map_lookup_elem(inner, &idx);
	if (!keep)
		return 0;
	return *keep;
}
