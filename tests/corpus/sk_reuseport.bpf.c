// Corpus: sk reuseport programs (libbpf section names).
#include "corpus.h"
SEC("sk_reuseport") int select_sk(struct sk_reuseport_md *md)
{
	void *data = md->data, *end = md->data_end;
	if (data + 8 > end)
		return SK_PASS;
	return md->ip_protocol == 17 && md->hash % 2 ? SK_DROP : SK_PASS;
}
SEC("sk_reuseport/migrate") int migrate(struct sk_reuseport_md *md)
{
	bump(md->len & 3);
	return SK_PASS;
}
