// Package lk is voipd's client of a LiveKit room: where a gateway (roomd
// in gateway mode, package roomd/lkgate) sends a device, it speaks
// LiveKit's signalling (signal.go: the protobuf messages over a WebSocket)
// without LiveKit's SDK or generated protobuf package, whose
// initialisation alone would cost every voipd more memory than its goals
// leave (docs/SCALE-OUT.md).
package lk
