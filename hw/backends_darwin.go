package hw

// AudioBackends are the audio.backend values of this system: miniaudio's
// CoreAudio and null backends, and "auto" (CoreAudio).
var AudioBackends = []string{"auto", "coreaudio", "null"}
