// kretprobe: the return value (a0) and the return address (ra).
// @run kret regs=a0=0x2a,ra=0x1000 => 0x102a
#include "common.h"
#include <asm/ptrace.h>
#include <bpf/bpf_tracing.h>
SEC("kretprobe/do_sys_openat2") int kret(struct pt_regs *ctx)
{
	return PT_REGS_RC(ctx) + PT_REGS_RET(ctx);
}
