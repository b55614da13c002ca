// The legacy `maps` section (struct bpf_map_def), as aya-ebpf and old samples emit.
// @run legacy => 9
// @map old 02000000 = 09000000
#include "common.h"
struct bpf_map_def_legacy { unsigned int type, key_size, value_size, max_entries, map_flags; };
struct bpf_map_def_legacy old SEC("maps") = { BPF_MAP_TYPE_HASH, 4, 4, 16, 0 };
SEC("syscall") int legacy(void *ctx)
{
	__u32 k = 2, v = 9;
	bpf_map_update_elem(&old, &k, &v, BPF_ANY);
	__u32 *p = bpf_map_lookup_elem(&old, &k);
	return p ? *p : -1;
}
