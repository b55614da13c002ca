// Corpus: perf event programs (libbpf section names).
#include "corpus.h"
SEC("perf_event") int sample(void *ctx)
{
	bump(bpf_get_smp_processor_id() & 3);
	return 0;
}
