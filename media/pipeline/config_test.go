package pipeline

import (
	"github.com/voipd/voipd/codec/opus"
	"github.com/voipd/voipd/media/settings"
)

// testAudio is the default audio config with libopus' own complexity, as
// the C loop the benchmarks compare with leaves it; mut, when given,
// changes it further.
func testAudio(mut ...func(*settings.Audio)) settings.Audio {
	c := settings.DefaultAudio()
	c.Complexity = opus.DefaultComplexity
	for _, m := range mut {
		m(&c)
	}
	return c
}

// testVideo is the default video config at w×h.
func testVideo(w, h int) settings.Video {
	c := settings.DefaultVideo()
	c.Width, c.Height = w, h
	return c
}
