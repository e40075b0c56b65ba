// Package archtest holds the test that keeps the architecture of DESIGN.md §6
// true: imports run one way, cgo stays in codec and hw, and every package has
// a doc comment. It has no code of its own.
package archtest
