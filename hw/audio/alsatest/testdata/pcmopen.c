/* pcmopen NAME: opens the ALSA capture PCM NAME, reads 4800 frames (100 ms)
 * and prints the result of snd_pcm_open as a negative errno (0 on success).
 * alsatest's own test uses it to check the plugin without miniaudio. */
#include <alsa/asoundlib.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	snd_pcm_t *pcm;
	short buf[4800];
	int err;
	if (argc != 2)
		return 2;
	err = snd_pcm_open(&pcm, argv[1], SND_PCM_STREAM_CAPTURE, 0);
	printf("open %d\n", err);
	if (err < 0)
		return 0;
	err = snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, 1, 48000, 0, 100000);
	if (err < 0) {
		printf("set_params %d\n", err);
		return 1;
	}
	snd_pcm_sframes_t n = snd_pcm_readi(pcm, buf, 4800);
	printf("read %ld\n", (long)n);
	snd_pcm_close(pcm);
	return n == 4800 ? 0 : 1;
}
