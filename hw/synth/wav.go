package synth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/voipd/voipd/hw"
)

// LoadWAV reads a sound file for the ringtone: RIFF WAVE, 16-bit PCM, mono,
// 48 kHz (what the devices play, so nothing is resampled). Any other layout
// is refused with a message saying what the file is.
func LoadWAV(path string) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%s is not a RIFF WAVE file", path)
	}
	var format, channels, bits uint16
	var rate uint32
	var data []byte
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		body := b[p+8 : min(p+8+size, len(b))]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, fmt.Errorf("%s: short fmt chunk", path)
			}
			format = binary.LittleEndian.Uint16(body[0:2])
			channels = binary.LittleEndian.Uint16(body[2:4])
			rate = binary.LittleEndian.Uint32(body[4:8])
			bits = binary.LittleEndian.Uint16(body[14:16])
		case "data":
			data = body
		}
		p += 8 + size + size%2 // chunks are padded to even sizes
	}
	if format != 1 || channels != 1 || bits != 16 || rate != hw.SampleRate {
		return nil, fmt.Errorf("%s is format %d, %d channel(s), %d-bit, %d Hz: want 16-bit PCM, mono, %d Hz", path, format, channels, bits, rate, hw.SampleRate)
	}
	if len(data) < 2 {
		return nil, errors.New(path + " has no samples")
	}
	pcm := make([]int16, len(data)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
	}
	return pcm, nil
}

// WriteWAV writes pcm to path as LoadWAV reads it: RIFF WAVE, 16-bit PCM,
// mono, 48 kHz. A test hands another program (a browser's fake
// microphone) the same sound a synthetic device makes.
func WriteWAV(path string, pcm []int16) error {
	data := len(pcm) * 2
	b := make([]byte, 44+data)
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+data))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], hw.Channels)
	binary.LittleEndian.PutUint32(b[24:], hw.SampleRate)
	binary.LittleEndian.PutUint32(b[28:], hw.SampleRate*2*hw.Channels)
	binary.LittleEndian.PutUint16(b[32:], 2*hw.Channels)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(data))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	return os.WriteFile(path, b, 0o644)
}
