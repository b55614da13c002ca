// Socket filter: __sk_buff fields and bpf_skb_load_bytes (no direct packet access).
// @run sock in=ffffffffffff00000000000108004500001c00000000401100000a0000010a000002 => 0x11
#include "common.h"
SEC("socket") int sock(struct __sk_buff *skb)
{
	__u8 proto;
	if (skb->protocol != bpf_htons(0x0800)) return 0;
	if (bpf_skb_load_bytes(skb, 9, &proto, 1)) return -1;
	return proto + (skb->len >= 20 ? 0 : 0x100);
}
