// Package camera is voipd's V4L2 camera backend: it lists the capture
// devices under /dev with stable ids (udev's /dev/v4l/by-id and by-path
// names), opens one at the mode closest to the configuration, and streams
// frames through a few mmap buffers, copying each into a buffer it reuses.
// The ioctls go through github.com/blackjack/webcam (no cgo); kernel errors
// become hw error kinds in one function, deviceError.
//
// The synthetic ids "pattern" and "pattern:NAME" open hw/synth's moving test
// pattern through the same System, so configuration can ask for one where
// no camera exists; it reports Synthetic.
//
// V4L2 is Linux's. Elsewhere (macOS) New returns a NoBackend, which lists no
// camera, says why, and opens only the pattern: the hw.CameraSystem an
// AVFoundation backend would implement in its place.
package camera
