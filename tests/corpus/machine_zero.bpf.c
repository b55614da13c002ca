// Corpus: an object whose e_machine is 0, as old toolchains wrote (the test patches the header).
#include "corpus.h"
SEC("xdp") int em_none(struct xdp_md *ctx)
{
	bump(0);
	return XDP_PASS;
}
