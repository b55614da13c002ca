// A syscall program reads and writes its context (caller memory).
// @run ctxp in=0500000007000000 => 12
#include "common.h"
struct args { int a, b; };
SEC("syscall") int ctxp(struct args *x) { int s = x->a + x->b; x->a = s; return s; }
