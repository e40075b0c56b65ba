// Package intercept holds pion interceptors whose per-packet paths do not
// allocate: RTCP sender and receiver reports, and send-side congestion
// control (the transport-wide sequence number extension on every sent
// packet, a history of what was sent, the transport-cc feedback parser and
// a Google Congestion Control estimate). NACK, both the asking and the
// answering half, is package nack's.
//
// pion's own interceptors read each packet through
// interceptor.Attributes.GetRTPHeader (a header unmarshalled into a fresh
// map per packet), clone headers to add an extension, keep the send
// history in a container/list and unmarshal every RTCP packet they see:
// several allocations per packet, which were most of what a video call
// allocated in voipd. Here each stream's state is fixed-size and bound
// once; packets are read in place (the sequence number at bytes 2..3 of
// the RTP header, RTCP walked without rtcp.Unmarshal) and the reports are
// built in structs owned by the stream. The tests hold every per-packet
// path to zero allocations (testing.AllocsPerRun).
//
// Register puts them, with nack's responder and generator, where
// webrtc.RegisterDefaultInterceptors would put pion's.
package intercept
