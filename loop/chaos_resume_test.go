package loop

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"

	"github.com/redrtc/redrtc/internal/testkit"
)

// resumeRounds numbers the rooms of dropAndResume, so that none is reused.
var resumeRounds atomic.Int64

// dropAndResume is TestChaos's resuming client: in a room of its own with a
// sender, it acks as the SDK does, drops its socket without a word after
// every 10 offers, and resumes on a new connection, while the sender sends
// 40 numbered offers as fast as it can. Every offer must arrive exactly
// once, in order, with consecutive seqs across the connections; fail
// reports what did not. It returns whether the round went to the end.
func dropAndResume(t *testing.T, srv *Server, fail func(string)) bool {
	const total, dropEvery, ackEvery = 40, 10, 5
	room := fmt.Sprintf("resume-%d", resumeRounds.Add(1))
	sender, _, _, ok := chaosClient(t, srv)
	if !ok {
		return false
	}
	defer sender.Conn.CloseNow()
	r, id, token, ok := chaosClient(t, srv)
	if !ok {
		return false
	}
	defer func() {
		if r != nil { // a goodbye: the session ends at once
			_ = r.Conn.Close(websocket.StatusNormalClosure, "done")
		}
	}()
	var lastSeq uint64
	read := func(want string) (testkit.Event, bool) {
		ev, err := r.Read()
		if err != nil || ev.Event != want {
			return ev, false
		}
		if ev.Seq != 0 {
			if ev.Seq != lastSeq+1 {
				fail(fmt.Sprintf("%s: %s with seq %d after %d", id, ev.Event, ev.Seq, lastSeq))
				return ev, false
			}
			lastSeq = ev.Seq
		}
		return ev, true
	}
	r.Send("join-room", map[string]any{"roomId": room})
	for _, want := range []string{"room-created", "room-joined", "participants"} {
		if _, ok := read(want); !ok {
			return false
		}
	}
	sender.Send("join-room", map[string]any{"roomId": room})
	if _, ok := read("participants"); !ok {
		return false
	}
	// The first ack makes the session resumable; the pong says it has been
	// handled, before any offer: what comes before it is not retained.
	r.Send("ack", map[string]any{"seq": lastSeq})
	r.Send("ping", nil)
	if _, ok := read("pong"); !ok {
		return false
	}
	senderID := sender.ID
	go func() {
		for n := range total {
			msg := fmt.Sprintf(`{"event":"offer","data":{"targetClientId":%q,"offer":{"n":%d}}}`, id, n)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			err := sender.Conn.Write(ctx, websocket.MessageText, []byte(msg))
			cancel()
			if err != nil {
				return
			}
		}
	}()
	for next := 0; next < total; {
		ev, ok := read("offer")
		if !ok {
			if ev.Event != "" {
				fail(fmt.Sprintf("%s: got %s, want offer %d", id, ev.Raw, next))
			}
			return false
		}
		var d struct {
			From  string `json:"fromClientId"`
			Offer struct{ N int }
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.From != senderID || d.Offer.N != next {
			fail(fmt.Sprintf("%s: got %s, want offer %d from %s", id, ev.Raw, next, senderID))
			return false
		}
		next++
		if next%ackEvery == 0 {
			r.Send("ack", map[string]any{"seq": lastSeq})
		}
		if next%dropEvery == 0 && next < total {
			_ = r.Conn.CloseNow()
			if r, ok = chaosResume(t, srv, id, token, lastSeq, fail); !ok {
				return false
			}
		}
	}
	return true
}

// chaosClient dials a client and reads its client-id, without failing the
// test: under chaos, the server may be busy.
func chaosClient(t *testing.T, srv *Server) (c *testkit.Client, id, token string, ok bool) {
	c, _, err := testkit.DialWith(t, wsURL(srv), nil)
	if err != nil {
		return nil, "", "", false
	}
	ev, err := c.Read()
	if err != nil || ev.Event != "client-id" {
		_ = c.Conn.CloseNow()
		return nil, "", "", false
	}
	var d struct{ ClientID, ResumeToken string }
	if json.Unmarshal(ev.Data, &d) != nil {
		_ = c.Conn.CloseNow()
		return nil, "", "", false
	}
	c.ID = d.ClientID
	return c, d.ClientID, d.ResumeToken, true
}

// chaosResume resumes session id on a new connection, having seen up to
// lastSeq; with acks every 5 events and 40 events in all, nothing may have
// been dropped.
func chaosResume(t *testing.T, srv *Server, id, token string, lastSeq uint64, fail func(string)) (*testkit.Client, bool) {
	c, _, _, ok := chaosClient(t, srv)
	if !ok {
		return nil, false
	}
	c.Send("resume", map[string]any{"clientId": id, "resumeToken": token, "lastSeq": lastSeq})
	ev, err := c.Read()
	if err != nil {
		_ = c.Conn.CloseNow()
		return nil, false
	}
	var d resumedData
	if ev.Event != "resumed" || json.Unmarshal(ev.Data, &d) != nil || d.ClientID != id || d.Dropped != 0 {
		fail(fmt.Sprintf("%s: resume after seq %d: %s", id, lastSeq, ev.Raw))
		_ = c.Conn.CloseNow()
		return nil, false
	}
	return c, true
}
