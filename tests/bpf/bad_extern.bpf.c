// An extern function call is refused, naming the symbol.
// @error extern function 'not_here'
#include "common.h"
extern int not_here(int) __attribute__((weak));
SEC("syscall") int ext(void *ctx) { return not_here(1); }
