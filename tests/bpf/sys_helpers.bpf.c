// Time, randomness, CPU id and pid helpers: values vary, their properties do not.
// @run hlp => 7
#include "common.h"
SEC("syscall") int hlp(void *ctx)
{
	int ok = 0;
	__u64 t1 = bpf_ktime_get_ns(), t2 = bpf_ktime_get_ns();
	if (t2 >= t1 && t1 > 0) ok |= 1;
	if (bpf_get_smp_processor_id() < 4096) ok |= 2;
	__u32 r = bpf_get_prandom_u32(); (void)r;
	if (bpf_ktime_get_boot_ns() > 0) ok |= 4;
	return ok;
}
