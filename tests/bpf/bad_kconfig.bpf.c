// A .kconfig extern is refused, naming the variable.
// @error extern variable 'LINUX_KERNEL_VERSION'
#include "common.h"
extern int LINUX_KERNEL_VERSION __attribute__((section(".kconfig")));
SEC("syscall") int kc(void *ctx) { return LINUX_KERNEL_VERSION; }
