// bpf_printk: format strings in .rodata, integer and string conversions.
// @run pk => 0
// @trace n=-3 u=4294967293 x=fffffffd
// @trace s=abc
#include "common.h"
SEC("syscall") int pk(void *ctx)
{
	int n = -3;
	char s[4] = "abc";
	bpf_printk("n=%d u=%u x=%x", n, n, n);
	bpf_printk("s=%s", s);
	return 0;
}
