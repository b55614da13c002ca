// Corpus: flow dissector programs (libbpf section names).
#include "corpus.h"
SEC("flow_dissector") int dissect(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	if (data + 14 > end)
		return BPF_DROP;
	return BPF_OK;
}
