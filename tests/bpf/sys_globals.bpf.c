// .data, .bss and .rodata as one-element arrays with map-value relocations.
// @run glob => 106
// @run glob => 109
// @map sys_glob.bss 00000000 = 6d00000000000000
#include "common.h"
const volatile __u64 step = 3;
__u64 counter = 100;
__u64 acc;
SEC("syscall") int glob(void *ctx)
{
	counter += step;
	acc = counter + step;
	return acc;
}
