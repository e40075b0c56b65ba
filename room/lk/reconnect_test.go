package lk

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// TestReconnectSchedule: tries that fail at once back off, doubling to
// reconnectMax; a try LiveKit did not answer in time is followed at once,
// its successor waiting a step longer for the answer, up to reconnectTry.
func TestReconnectSchedule(t *testing.T) {
	refused := &room.Error{Reason: proto.ReasonUnreachable, Msg: "refused"}
	cut := slowAnswer{&room.Error{Reason: proto.ReasonTimeout, Msg: "no answer"}}
	var s schedule
	type step struct {
		failed      error // how the try before failed (nil: the first try)
		delay, wait time.Duration
		what        string
	}
	steps := []step{
		{nil, reconnectFirst, reconnectAnswer, "the first try"},
		{refused, 2 * reconnectFirst, reconnectAnswer, "refused: doubled"},
		{refused, 4 * reconnectFirst, reconnectAnswer, "refused again: doubled"},
		{cut, reconnectAgain, reconnectAnswer + reconnectAnswerStep, "cut: at once, a step longer"},
		{cut, reconnectAgain, reconnectAnswer + 2*reconnectAnswerStep, "cut again"},
		{refused, reconnectFirst, reconnectAnswer + 2*reconnectAnswerStep, "refused after cuts: from reconnectFirst"},
		{refused, 2 * reconnectFirst, reconnectAnswer + 2*reconnectAnswerStep, "doubled"},
		{refused, 4 * reconnectFirst, reconnectAnswer + 2*reconnectAnswerStep, "doubled"},
		{refused, 8 * reconnectFirst, reconnectAnswer + 2*reconnectAnswerStep, "doubled"},
		{refused, reconnectMax, reconnectAnswer + 2*reconnectAnswerStep, "at most reconnectMax"},
		{refused, reconnectMax, reconnectAnswer + 2*reconnectAnswerStep, "at most reconnectMax"},
	}
	for i, st := range steps {
		if st.failed != nil {
			s.failed(st.failed)
		}
		d, w := s.next()
		if d != st.delay || w != st.wait {
			t.Errorf("try %d (%s): delay %v, answer wait %v; want %v, %v", i+1, st.what, d, w, st.delay, st.wait)
		}
	}
	for range 100 {
		s.failed(cut)
	}
	if _, w := s.next(); w != reconnectTry {
		t.Errorf("after 100 cut tries the answer wait is %v, want reconnectTry %v", w, reconnectTry)
	}
}

// TestDialCutWhenLiveKitDoesNotAnswer: a LiveKit that takes the connection
// but never answers the WebSocket (its room's node is dead) is left after
// answerWait with a slowAnswer the schedule tells apart, a room.Error
// (timeout) to everyone else; a refused connection is no slowAnswer, nor
// is a join cancelled by its caller.
func TestDialCutWhenLiveKitDoesNotAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closedByClient := make(chan error, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { // read the upgrade request, answer nothing
				_, err := io.Copy(io.Discard, c)
				closedByClient <- err
				c.Close()
			}()
		}
	}()
	url := "ws://" + ln.Addr().String()

	_, err = joinWith(context.Background(), Params{URL: url, Token: "t", answerWait: 100 * time.Millisecond}, func(*Session) {})
	var re *room.Error
	if !errors.As(err, new(slowAnswer)) || !errors.As(err, &re) || re.Reason != proto.ReasonTimeout {
		t.Fatalf("a LiveKit that never answers: %v (%T), want a slowAnswer with reason timeout", err, err)
	}
	if err := <-closedByClient; err != nil {
		t.Errorf("the cut connection ended with %v, want closed by the client (EOF)", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err = joinWith(ctx, Params{URL: url, Token: "t"}, func(*Session) {})
	cancel()
	if err == nil || errors.As(err, new(slowAnswer)) {
		t.Errorf("a join cancelled by its caller: %v, want an error that is no slowAnswer", err)
	}
	<-closedByClient

	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "ws://" + dead.Addr().String()
	dead.Close()
	_, err = joinWith(context.Background(), Params{URL: deadURL, Token: "t", answerWait: time.Minute}, func(*Session) {})
	if !errors.As(err, &re) || re.Reason != proto.ReasonUnreachable || errors.As(err, new(slowAnswer)) {
		t.Errorf("a refused connection: %v, want reason unreachable and no slowAnswer", err)
	}
}
