package hw

// AudioBackends are the audio.backend values of this system: miniaudio's
// PulseAudio (PipeWire's pulse server too), ALSA and null backends, and
// "auto" (PulseAudio when a server answers, else ALSA).
var AudioBackends = []string{"auto", "alsa", "pulse", "null"}
