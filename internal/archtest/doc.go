// Package archtest holds the test that keeps the architecture of
// docs/ARCHITECTURE.md ("Imports") true: imports run one way, cgo stays in
// codec and hw, every package has a doc comment, and neither proto nor
// voipctl links WebRTC. It has no code of its own.
package archtest
