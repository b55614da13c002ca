/* Shared by the fixtures: kernel UAPI types and libbpf's helper declarations. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
char LICENSE[] SEC("license") = "GPL";
