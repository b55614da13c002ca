// @run ret42 => 42
#include "common.h"
SEC("syscall") int ret42(void *ctx) { return 42; }
