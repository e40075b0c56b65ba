package session

// State is the device's one state machine. It moves only through
// Engine.move, under Engine.mu, and only along the arrows of transitions:
// any other move is a bug, logged and refused. A session is visible as
// InRoom only once it is complete (its room, its call and its video are
// all in place), so every request that finds InRoom finds them.
//
//	idle         → joining       Join
//	joining      → inRoom        Join, once the room and the media run
//	joining      → idle          Join failed, or an exit or SIGTERM cancelled it
//	inRoom       → reconnecting  the connection to the room server was lost
//	reconnecting → inRoom        back in the seat (the media never stopped)
//	inRoom       → leaving       exit, interruption, the call's end, shutdown
//	reconnecting → leaving       the same, or not back within the server's grace
//	leaving      → idle          the room left politely and the devices closed
type State int

const (
	Idle State = iota
	Joining
	InRoom
	Leaving
	Reconnecting
)

// transitions lists each state's legal next states.
var transitions = [...][]State{
	Idle:         {Joining},
	Joining:      {InRoom, Idle},
	InRoom:       {Reconnecting, Leaving},
	Reconnecting: {InRoom, Leaving},
	Leaving:      {Idle},
}

var stateNames = [...]string{Idle: "idle", Joining: "joining", InRoom: "inRoom", Leaving: "leaving", Reconnecting: "reconnecting"}

// inRoom reports whether s is in a room: joined, and not leaving (a room
// reconnecting is still the device's room: mute and exit work there).
func (s State) inRoom() bool { return s == InRoom || s == Reconnecting }

// String is the state's name in status and systemd's STATUS=.
func (s State) String() string { return stateNames[s] }

// MarshalText writes the state's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// legal reports whether from → to is one of the arrows.
func legal(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}
