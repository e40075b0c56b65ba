#include <opus.h>

// Argument blocks for internal/ccall: libopus' per-frame calls, each one
// call on a state hraban/opus made.
typedef struct {
	OpusEncoder *st;
	const opus_int16 *pcm;
	unsigned char *out;
	opus_int32 samples;
	opus_int32 max;
	opus_int32 ret; // opus_encode's
	opus_int32 in_dtx; // OPUS_GET_IN_DTX after it, 0 or 1; -1 if the ctl failed
} voipd_opus_enc;

typedef struct {
	OpusDecoder *st;
	const unsigned char *data; // NULL for loss concealment
	opus_int16 *pcm;
	opus_int32 len;
	opus_int32 samples; // room in pcm
	opus_int32 fec;
	opus_int32 ret; // opus_decode's
} voipd_opus_dec;

void voipd_opus_encode(void *p);
void voipd_opus_decode(void *p);
