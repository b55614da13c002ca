// Corpus: iproute2/cilium `struct bpf_elf_map` (36 bytes: id, pinning, inner_id, inner_idx) and tc section names.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct bpf_elf_map {
	__u32 type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx;
};
struct bpf_elf_map acc SEC("maps") = { .type = BPF_MAP_TYPE_ARRAY, .size_key = 4, .size_value = 8, .max_elem = 2, .pinning = 2 /* PIN_GLOBAL_NS */ };
struct bpf_elf_map jmp SEC("maps") = { .type = BPF_MAP_TYPE_PROG_ARRAY, .size_key = 4, .size_value = 4, .max_elem = 4, .id = 1 };
SEC("classifier") int cls_main(struct __sk_buff *skb)
{
	__u32 k = skb->ingress_ifindex != 0;
	__u64 *v = bpf_map_lookup_elem(&acc, &k);
	if (v)
		__sync_fetch_and_add(v, skb->len);
	bpf_tail_call(skb, &jmp, 0);
	return -1;
}
SEC("action") int act_main(struct __sk_buff *skb)
{
	return 0;
}
