// A string literal and a static const array: read-only data (clang-19 puts both in
// .rodata here), reached through map-value relocations with offsets.
// @run str => 0x68
#include "common.h"
static const char table[] = "xyz";
volatile int idx = 0;
SEC("syscall") int str(void *ctx)
{
	const char *s = "hello";
	int i = idx & 3;
	return s[i] + table[i] - 'x';
}
