// tracepoint: the raw record (common header, then the event's fields).
// @run tp ctx=0000000000000000e8030000000000002a00000000000000 => 0x412
#include "common.h"
struct sys_enter { __u64 common; long id; unsigned long args[6]; };
SEC("tracepoint/raw_syscalls/sys_enter") int tp(struct sys_enter *e) { return e->id + e->args[0]; }
