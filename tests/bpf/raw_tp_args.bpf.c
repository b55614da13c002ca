// raw_tracepoint: u64 arguments.
// @run rtp args=3,4 => 7
#include "common.h"
SEC("raw_tp/sched_switch") int rtp(struct bpf_raw_tracepoint_args *ctx) { return ctx->args[0] + ctx->args[1]; }
