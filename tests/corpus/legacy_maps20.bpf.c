// Corpus: legacy `maps` section, 20-byte struct bpf_map_def (samples/bpf before 2018).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct bpf_map_def_20 { unsigned int type, key_size, value_size, max_entries, map_flags; };
struct bpf_map_def_20 packets SEC("maps") = { BPF_MAP_TYPE_ARRAY, 4, 8, 256, 0 };
struct bpf_map_def_20 flows SEC("maps") = { BPF_MAP_TYPE_HASH, 8, 8, 1024, 0 };
SEC("socket") int count(struct __sk_buff *skb)
{
	__u32 k = skb->protocol & 0xff;
	__u64 *v = bpf_map_lookup_elem(&packets, &k), one = 1, key = skb->ifindex;
	if (v)
		__sync_fetch_and_add(v, 1);
	bpf_map_update_elem(&flows, &key, &one, BPF_ANY);
	return 0;
}
