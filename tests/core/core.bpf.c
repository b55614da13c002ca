// CO-RE fixture: every relocation kind, applied by tests/core.rs against target_{a,b,c}
// and compared instruction for instruction with libbpf's result.
#include "../bpf/common.h"
#include <bpf/bpf_core_read.h>
#include "local.h"

SEC("kprobe/core_fields")
int core_fields(struct pt_regs *ctx)
{
	struct core_task *t = (void *)ctx;
	long v = BPF_CORE_READ(t, pid);
	v += BPF_CORE_READ(t, inner.b);
	v += BPF_CORE_READ(t, u2);
	v += BPF_CORE_READ(t, comm[3]);
	v += BPF_CORE_READ(t, arr[2].a);
	v += bpf_core_field_size(t->comm);
	v += bpf_core_field_offset(t->flags);
	v += bpf_core_field_exists(t->tgid);
	v += __builtin_preserve_field_info(t->sbf, BPF_FIELD_SIGNED);
	v += __builtin_preserve_field_info(t->bf1, BPF_FIELD_SIGNED);
	v += BPF_CORE_READ_BITFIELD_PROBED(t, bf2);
	v += BPF_CORE_READ_BITFIELD_PROBED(t, sbf);
	if (bpf_core_field_exists(t->gone))
		v += BPF_CORE_READ(t, gone);
	return v;
}

SEC("kprobe/core_types")
int core_types(struct pt_regs *ctx)
{
	long v = bpf_core_type_exists(struct core_absent);
	v += bpf_core_type_size(struct core_task);
	v += bpf_core_type_id_kernel(struct core_task);
	v += bpf_core_type_id_local(struct core_pair);
	v += bpf_core_type_matches(struct core_pair);
	v += bpf_core_type_exists(core_u32);
	v += bpf_core_enum_value_exists(enum core_state, CS_GONE);
	v += bpf_core_enum_value(enum core_state, CS_B);
	if (bpf_core_enum_value_exists(enum core_state, CS_GONE))
		v += bpf_core_enum_value(enum core_state, CS_GONE);
	v += bpf_core_enum_value(enum core_big, CB_X);
	return v;
}

/* Direct loads (as tp_btf and fentry programs make): the offset is patched in the load
 * and a field that changed size changes the load's width. Not verifiable as a kprobe. */
SEC("kprobe/core_direct")
int core_direct(struct pt_regs *ctx)
{
	struct core_task *t = (void *)((unsigned long *)ctx)[0];
	long v = t->small;
	v += (long)t->ptr;
	v += t->pid;
	if (bpf_core_field_exists(t->ssmall))
		v += t->ssmall;
	return v;
}

SEC("kprobe/core_flavor")
int core_flavor(struct pt_regs *ctx)
{
	struct core_task___old *o = (void *)ctx;
	long v = BPF_CORE_READ(o, pid);
	if (bpf_core_field_exists(o->old_only))
		v += BPF_CORE_READ(o, old_only);
	return v;
}
