// Corpus: sk msg programs (libbpf section names).
#include "corpus.h"
SEC("sk_msg") int msg(struct sk_msg_md *msg)
{
	void *data = msg->data, *end = msg->data_end;
	if (data + 4 > end)
		return SK_PASS;
	bump(msg->family == 2);
	return *(__u32 *)data == 0 ? SK_DROP : SK_PASS;
}
