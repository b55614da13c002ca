// kprobe: arguments from struct pt_regs via libbpf's riscv PT_REGS macros.
// @run kp regs=a0=5,a1=6,a2=7 => 18
// @map args_seen 05000000 = 0600000000000000
#include "common.h"
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } args_seen SEC(".maps");
SEC("kprobe/do_sys_openat2") int BPF_KPROBE(kp, int a, long b, long c)
{
	__u32 k = a; __u64 v = b;
	bpf_map_update_elem(&args_seen, &k, &v, BPF_ANY);
	return a + b + c;
}
