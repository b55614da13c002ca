// Global data: .data, .bss and .rodata as one-element array maps, a static subprogram in
// .text, and a string literal in .rodata.str1.1.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 scale = 3;     /* .rodata: frozen, read-only to programs */
__u64 calls = 100;                  /* .data */
__u64 total;                        /* .bss */
static char greeting[] = "hi";      /* .data */

static __attribute__((noinline)) __u64 scaled(__u64 x)
{
	return x * scale;
}

SEC("syscall")
int globals(__u64 *args)
{
	calls++;
	total += scaled(args[0]);
	bpf_printk("%s: calls %llu total %llu", greeting, calls, total);
	return total;
}
