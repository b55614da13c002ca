// A relocation of core_pair.y with two candidates that disagree (against target_d).
#include "../bpf/common.h"
#include <bpf/bpf_core_read.h>
#include "local.h"

SEC("kprobe/core_ambiguous")
int core_ambiguous(struct pt_regs *ctx)
{
	struct core_pair *p = (void *)ctx;
	return BPF_CORE_READ(p, y);
}
