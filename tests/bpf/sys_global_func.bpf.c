// A global (non-static) function in .text, linked like a static one.
// @kernel skip: global functions need BTF func_info, which this differential test does not pass
// @run gf => 30
#include "common.h"
__attribute__((noinline)) int global_add(int a, int b) { return a + b; }
SEC("syscall") int gf(void *ctx) { return global_add(10, 20); }
