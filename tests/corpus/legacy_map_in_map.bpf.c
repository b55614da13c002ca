// Corpus: maps-in-maps in the legacy conventions: samples/bpf's 28-byte bpf_map_def,
// whose outer map names its template by inner_map_idx (the template's index in section
// maps), and iproute2's bpf_elf_map, whose outer map names the template's id by
// inner_id, each map with that id going in at its inner_idx.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct bpf_elf_map {
	__u32 type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx;
};
struct bpf_elf_map tmpl SEC("maps") = { .type = BPF_MAP_TYPE_HASH, .size_key = 4, .size_value = 8, .max_elem = 32, .id = 7, .inner_idx = 1 };
struct bpf_elf_map other SEC("maps") = { .type = BPF_MAP_TYPE_HASH, .size_key = 4, .size_value = 8, .max_elem = 32, .id = 7, .inner_idx = 3 };
struct bpf_elf_map outer SEC("maps") = { .type = BPF_MAP_TYPE_ARRAY_OF_MAPS, .size_key = 4, .size_value = 4, .max_elem = 4, .inner_id = 7 };
SEC("classifier") int per_ifindex(struct __sk_buff *skb)
{
	__u32 slot = skb->ifindex & 3, k = skb->mark;
	void *inner = bpf_map_lookup_elem(&outer, &slot);
	if (!inner)
		return 0;
	__u64 *bytes = bpf_map_lookup_elem(inner, &k);
	if (bytes)
		__sync_fetch_and_add(bytes, skb->len);
	return 0;
}
