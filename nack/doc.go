// Package nack is RFC 4585 generic NACK (§6.2.1), both halves, as pion
// interceptors whose per-packet paths do not allocate: the Generator asks
// the sender of each received stream for the packets that did not arrive,
// and the Responder answers such asks from a fixed ring of preallocated
// packet slots per outgoing stream.
//
// pion's responder (interceptor/pkg/nack) copies every packet it keeps into
// a pooled header and payload and spawns a goroutine for every NACK; on the
// send path (room) and on roomd's forwarding, where one packet in becomes N
// packets out, that is several allocations per packet and per receiver.
// Here each stream gets one array of slots when it is bound; storing is a
// header MarshalTo and a payload copy into a slot, answering a NACK copies
// the slot and writes it, and neither allocates (see the benchmarks).
// pion's generator unmarshals the header of every received packet
// (interceptor.Attributes.GetRTPHeader); the Generator reads the sequence
// number in place into a fixed bitmap per stream, and builds its NACKs in
// a packet it owns (TestGeneratorDoesNotAllocate).
//
// Two ways in: intercept.Register (the room client's) registers both halves
// with intercept's reports and congestion control. Register and
// RegisterForwarding (roomd's) are webrtc.RegisterDefaultInterceptors with
// the Responder in the place of pion's responder, and pion's generator
// left in place.
package nack
