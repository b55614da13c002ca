// Corpus: raw tp programs (libbpf section names).
#include "corpus.h"
SEC("raw_tp/sched_switch") int switches(__u64 *args)
{
	bump(args[0] != 0);
	return 0;
}
SEC("raw_tracepoint/sys_enter") int sys_enter(__u64 *args)
{
	bump(args[1] == 59);
	return 0;
}
