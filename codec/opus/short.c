#include "short.h"

void voipd_opus_encode(void *p) {
	voipd_opus_enc *a = p;
	a->ret = opus_encode(a->st, a->pcm, a->samples, a->out, a->max);
	opus_int32 v = 0;
	a->in_dtx = opus_encoder_ctl(a->st, OPUS_GET_IN_DTX(&v)) == OPUS_OK ? (v != 0) : -1;
}

void voipd_opus_decode(void *p) {
	voipd_opus_dec *a = p;
	a->ret = opus_decode(a->st, a->data, a->len, a->pcm, a->samples, a->fec);
}
