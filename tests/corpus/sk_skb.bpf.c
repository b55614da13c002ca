// Corpus: sk skb programs (libbpf section names).
#include "corpus.h"
SEC("sk_skb/stream_parser") int parser(struct __sk_buff *skb)
{
	return skb->len;
}
SEC("sk_skb/stream_verdict") int verdict(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	if (data + 1 > end)
		return SK_DROP;
	return ((char *)data)[0] == 'x' ? SK_DROP : SK_PASS;
}
SEC("sk_skb") int plain(struct __sk_buff *skb)
{
	return SK_PASS;
}
