// Corpus: legacy `maps` section, 28-byte bpf_map_def with inner_map_idx and numa_node.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct bpf_map_def_28 { unsigned int type, key_size, value_size, max_entries, map_flags, inner_map_idx, numa_node; };
struct bpf_map_def_28 hist SEC("maps") = { BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 64, 0, 0, 0 };
struct bpf_map_def_28 seen SEC("maps") = { BPF_MAP_TYPE_LRU_HASH, 4, 4, 128, 0, 0, 0 };
SEC("kprobe/vfs_read") int reads(void *ctx)
{
	__u32 k = bpf_get_smp_processor_id() & 63, pid = bpf_get_current_pid_tgid(), one = 1;
	__u64 *v = bpf_map_lookup_elem(&hist, &k);
	if (v)
		*v += 1;
	bpf_map_update_elem(&seen, &pid, &one, BPF_ANY);
	return 0;
}
