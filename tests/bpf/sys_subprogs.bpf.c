// Static subprograms in .text calling each other; each program gets its own copy.
// @run sub_a => 21
// @run sub_b => 44
#include "common.h"
static __attribute__((noinline)) int twice(int x) { return x * 2; }
static __attribute__((noinline)) int twice_plus(int x, int y) { return twice(x) + y; }
SEC("syscall") int sub_a(void *ctx) { return twice_plus(10, 1); }
SEC("syscall") int sub_b(void *ctx) { return twice(twice(11)); }
