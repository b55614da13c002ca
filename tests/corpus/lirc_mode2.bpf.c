// Corpus: lirc_mode2, an IR decoder's program: each call gets one sample (LIRC_MODE2
// pulse, space or timeout in the top byte, the duration below). This kernel is built
// without CONFIG_BPF_LIRC_MODE2, so the harness finds it gives no verdict and says so.
#include "corpus.h"
SEC("lirc_mode2") int ir_decode(unsigned int *sample)
{
	unsigned int mode = *sample & 0xff000000, duration = *sample & 0x00ffffff;
	if (mode == 0x01000000 && duration > 500)   /* LIRC_MODE2_PULSE */
		bump(1);
	else if (mode == 0x03000000)                /* LIRC_MODE2_TIMEOUT */
		bump(3);
	return 0;
}
