// Package web holds the browser code that more than one server sends: the
// <voip-room> custom element (voip-room.js, after WeChat's voip-room
// component, seed 004). roomd serves it to its browser client, which feeds
// each tile a MediaStream; the daemon's local display (daemon/display)
// serves it to the kiosk UI, where each element fetches its own picture
// over WHEP. Both serve it at /voip-room.js from here, so the two uses
// cannot drift apart into two elements; the file's header documents the
// element.
//
// The package imports nothing of the project.
package web

import _ "embed"

//go:embed voip-room.js
var voipRoomJS string

// VoipRoomJS returns voip-room.js, the <voip-room> custom element. Each
// call returns a new slice, which the caller may keep or change.
func VoipRoomJS() []byte { return []byte(voipRoomJS) }
