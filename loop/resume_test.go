package loop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/redrtc/redrtc/internal/testkit"
)

// sessionWatch records, through the transition hook, when each client's
// connection is closed, so that a test can wait for the server to notice a
// drop without sleeping.
type sessionWatch struct {
	mu     sync.Mutex
	closed map[string]bool
}

func (w *sessionWatch) hooks() testHooks {
	w.closed = map[string]bool{}
	return testHooks{transition: func(c *conn, _, to state) {
		if to == stateClosed && c.client.ID != ([16]byte{}) {
			w.mu.Lock()
			w.closed[c.client.ID.String()] = true
			w.mu.Unlock()
		}
	}}
}

// dropped returns a check that the connection of client id is closed.
func (w *sessionWatch) dropped(id string) func() error {
	return func() error {
		w.mu.Lock()
		defer w.mu.Unlock()
		if !w.closed[id] {
			return fmt.Errorf("the server has not noticed that %s dropped", id)
		}
		return nil
	}
}

// ackLast reads what c has been sent up to now is known by seq, and acks it:
// the client becomes resumable, as an SDK makes it.
func ackLast(c *testkit.Client, seq uint64) {
	c.Send("ack", map[string]any{"seq": seq})
}

// resumeAs sends the first message of a new connection taking over c's
// session, having seen everything up to lastSeq.
func resumeAs(next, old *testkit.Client, lastSeq uint64) {
	next.Send("resume", map[string]any{"clientId": old.ID, "resumeToken": old.Token, "lastSeq": lastSeq})
}

type resumedData struct {
	ClientID     string   `json:"clientId"`
	RoomID       *string  `json:"roomId"`
	Participants []string `json:"participants"`
	Missed       uint64   `json:"missed"`
	Dropped      uint64   `json:"dropped"`
}

func expectResumed(t *testing.T, c *testkit.Client) resumedData {
	t.Helper()
	ev := c.Expect("resumed")
	if ev.Seq != 0 {
		t.Fatalf("resumed carries seq %d; it belongs to no session", ev.Seq)
	}
	var d resumedData
	dec := json.NewDecoder(bytes.NewReader(ev.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("resumed %s: %v", ev.Data, err)
	}
	return d
}

// relayedSeq reads the next event, checks that it is ev from `from` with
// seq want and this payload, and returns it.
func expectRelayed(t *testing.T, c *testkit.Client, event, from string, want uint64, payload string) {
	t.Helper()
	ev := c.Expect(event)
	if ev.Seq != want {
		t.Fatalf("%s with seq %d, want %d (%s)", event, ev.Seq, want, ev.Raw)
	}
	if got := ev.Str(t, "fromClientId"); got != from {
		t.Fatalf("%s from %s, want %s", event, got, from)
	}
	key := map[string]string{"offer": "offer", "answer": "answer", "ice-candidate": "candidate"}[event]
	if got := ev.Str(t, key); got != payload {
		t.Fatalf("%s carries %q, want %q", event, got, payload)
	}
}

// sendCall has from send to an answer and n candidates, as a peer does
// while to's socket is gone.
func sendCall(from *testkit.Client, to string, n int) {
	from.Send("answer", map[string]any{"targetClientId": to, "answer": "answer"})
	for i := range n {
		from.Send("ice-candidate", map[string]any{"targetClientId": to, "candidate": "candidate " + strconv.Itoa(i)})
	}
}

// expectCall reads what sendCall sent, exactly once and in order, from seq
// first on.
func expectCall(t *testing.T, c *testkit.Client, from string, n int, first uint64) {
	t.Helper()
	expectRelayed(t, c, "answer", from, first, "answer")
	for i := range n {
		expectRelayed(t, c, "ice-candidate", from, first+1+uint64(i), "candidate "+strconv.Itoa(i))
	}
}

// resumablePair puts two clients in a room and has the first ack what it
// was sent, so that its session is resumable; it returns the first's last
// seq.
func resumablePair(t *testing.T, srv *Server) (a, b *testkit.Client, seq uint64) {
	t.Helper()
	return resumablePairIn(t, srv, "call")
}

// resumablePairIn is resumablePair in the given room.
func resumablePairIn(t *testing.T, srv *Server, room string) (a, b *testkit.Client, seq uint64) {
	t.Helper()
	return joinResumable(t, dial(t, srv), dial(t, srv), room)
}

// joinResumable puts a and b in room, in that order, and has a ack what it
// was sent, which makes its session resumable; it returns a's last seq.
func joinResumable(t *testing.T, a, b *testkit.Client, room string) (_, _ *testkit.Client, seq uint64) {
	t.Helper()
	a.Send("join-room", map[string]any{"roomId": room})
	a.Expect("room-created")
	a.Expect("room-joined")
	a.Expect("participants")
	b.Join(room)
	seq = a.Expect("participants").Seq
	if seq != 4 {
		t.Fatalf("the 4th event to a has seq %d", seq)
	}
	ackLast(a, seq)
	a.StillServed() // the ack is handled before anything else happens
	return a, b, seq
}

// droppedPair is resumablePairIn, then a's socket goes away without a
// close frame (a reset, as a network drop does), and the server notices.
func (w *sessionWatch) droppedPair(t *testing.T, srv *Server, room string) (a, b *testkit.Client, seq uint64) {
	t.Helper()
	a, b, seq = resumablePairIn(t, srv, room)
	_ = a.Conn.CloseNow()
	testkit.CheckFor(t, waitTimeout, pollEvery, w.dropped(a.ID))
	return a, b, seq
}

// TestResumeAfterADroppedSocket is the core of resume: a's socket goes away
// without a close frame mid-call, its peer sends an answer and 10
// candidates, a reconnects and resumes: it gets each exactly once, in
// order, with its id, and the peer never hears that it left.
func TestResumeAfterADroppedSocket(t *testing.T) {
	for _, loops := range []int{1, 4} {
		t.Run(strconv.Itoa(loops)+" loops", func(t *testing.T) {
			var w sessionWatch
			srv := startServerWith(t, Config{EventLoops: loops}, w.hooks())
			a, b, seq := w.droppedPair(t, srv, "call")
			sendCall(b, a.ID, 10)
			b.StillServed() // b got no error: a's seat was still there

			a2 := dial(t, srv)
			resumeAs(a2, a, seq)
			d := expectResumed(t, a2)
			if d.ClientID != a.ID || d.RoomID == nil || *d.RoomID != "call" || d.Missed != 11 || d.Dropped != 0 ||
				len(d.Participants) != 2 || d.Participants[0] != a.ID || d.Participants[1] != b.ID {
				t.Fatalf("resumed %+v", d)
			}
			expectCall(t, a2, b.ID, 10, seq+1)

			// Both carry on: a2 is a, in the room, with the next seq.
			a2.Send("offer", map[string]any{"targetClientId": b.ID, "offer": "again"})
			expectRelayed(t, b, "offer", a.ID, 3, "again") // after room-joined and participants
			b.Send("ice-candidate", map[string]any{"targetClientId": a.ID, "candidate": "late"})
			expectRelayed(t, a2, "ice-candidate", b.ID, seq+12, "late")
			if n := srv.Clients(); n != 2 {
				t.Fatalf("%d clients, want 2: the fresh id a2 was given is gone", n)
			}
			// Then a2 leaves for good: b hears it now.
			a2.Send("leave-room", nil)
			a2.Expect("room-left")
			if p := b.Expect("participants").List(t, "participants"); len(p) != 1 || p[0] != b.ID {
				t.Fatalf("participants %v after a left", p)
			}
		})
	}
}

// TestResumeRefused: a wrong token, another client's token, a session that
// never acked, lastSeq ahead, resume after join-room: each gets
// resume-failed, and the connection carries on as the fresh client it was.
func TestResumeRefused(t *testing.T) {
	var w sessionWatch
	srv := startServerWith(t, Config{}, w.hooks())
	a, b, seq := w.droppedPair(t, srv, "call")

	refused := func(name string, send func(c *testkit.Client)) {
		t.Run(name, func(t *testing.T) {
			c := dial(t, srv).In(t)
			send(c)
			c.ExpectError("resume-failed", "resume")
			// Still the fresh client it was: it can join and be reached.
			c.Join("elsewhere")
			if n := srv.Clients(); n < 3 {
				t.Fatalf("%d clients", n)
			}
		})
	}
	refused("wrong token", func(c *testkit.Client) {
		c.Send("resume", map[string]any{"clientId": a.ID, "resumeToken": "00112233445566778899aabbccddeeff", "lastSeq": seq})
	})
	refused("another client's token", func(c *testkit.Client) {
		c.Send("resume", map[string]any{"clientId": a.ID, "resumeToken": b.Token, "lastSeq": seq})
	})
	refused("its own fresh token for another id", func(c *testkit.Client) {
		c.Send("resume", map[string]any{"clientId": a.ID, "resumeToken": c.Token, "lastSeq": seq})
	})
	refused("a session that never acked", func(c *testkit.Client) {
		resumeAs(c, b, 0)
	})
	refused("lastSeq ahead of what was sent", func(c *testkit.Client) {
		resumeAs(c, a, seq+1)
	})
	refused("after join-room", func(c *testkit.Client) {
		c.Join("first")
		resumeAs(c, a, seq)
	})
	// None of it harmed the session: the right resume still works.
	a2 := dial(t, srv)
	resumeAs(a2, a, seq)
	if d := expectResumed(t, a2); d.ClientID != a.ID || d.Missed != 0 {
		t.Fatalf("resumed %+v", d)
	}
	b.StillServed()
	m := srv.Metrics()
	want := map[string]uint64{"off": 0, "out_of_order": 1, "no_session": 3, "not_resumable": 1, "seq_ahead": 1, "raced": 0}
	if m.Resumes != 1 || !maps.Equal(m.ResumeFailures, want) {
		t.Fatalf("metrics: %d resumes, failures %v; want 1 and %v", m.Resumes, m.ResumeFailures, want)
	}
}

// TestResumeOff: with --resume-grace 0, client-id has no token, a dropped
// client leaves at once, and resume is refused.
func TestResumeOff(t *testing.T) {
	srv := startServer(t, Config{ResumeGrace: -1})
	a, b := pairInRoom(t, srv, "call")
	if a.Token != "" {
		t.Fatalf("client-id carries a resume token with resume off")
	}
	ackLast(a, 3)
	a.StillServed()
	_ = a.Conn.CloseNow()
	if p := b.Expect("participants").List(t, "participants"); len(p) != 1 {
		t.Fatalf("participants %v", p)
	}
	c := dial(t, srv)
	c.Send("resume", map[string]any{"clientId": a.ID, "resumeToken": "00112233445566778899aabbccddeeff", "lastSeq": 0})
	c.ExpectError("resume-failed", "resume")
}

// TestResumeAfterTheGrace: the session ends like any disconnect: the peer
// gets participants, the seat is free, and a late resume is refused.
func TestResumeAfterTheGrace(t *testing.T) {
	srv := startServer(t, Config{ResumeGrace: 200 * time.Millisecond})
	a, b, seq := resumablePair(t, srv)
	_ = a.Conn.CloseNow()
	if p := b.Expect("participants").List(t, "participants"); len(p) != 1 || p[0] != b.ID {
		t.Fatalf("participants %v after the grace", p)
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, clientsConnected(srv, 1))
	a2 := dial(t, srv)
	resumeAs(a2, a, seq)
	a2.ExpectError("resume-failed", "resume")
}

// TestNormalCloseEndsTheSession: a client that says goodbye (1000) leaves
// at once, resumable or not; one that closes with another code is kept.
func TestNormalCloseEndsTheSession(t *testing.T) {
	srv := startServer(t, Config{})
	a, b, _ := resumablePair(t, srv)
	_ = a.Conn.Close(websocket.StatusNormalClosure, "bye")
	if p := b.Expect("participants").List(t, "participants"); len(p) != 1 {
		t.Fatalf("participants %v", p)
	}

	c, d, seq := resumablePairIn(t, srv, "another")
	_ = c.Conn.Close(websocket.StatusGoingAway, "page hidden")
	callAndResume(t, srv, c, d, seq, 2)
}

// callAndResume has b send a's session an answer and n candidates, then
// resumes it on a new connection, which gets them exactly once, in order.
func callAndResume(t *testing.T, srv *Server, a, b *testkit.Client, seq uint64, n int) *testkit.Client {
	t.Helper()
	sendCall(b, a.ID, n)
	b.StillServed()
	a2 := dial(t, srv)
	resumeAs(a2, a, seq)
	if d := expectResumed(t, a2); d.ClientID != a.ID || d.Missed != uint64(n+1) || d.Dropped != 0 {
		t.Fatalf("resumed %+v", d)
	}
	expectCall(t, a2, b.ID, n, seq+1)
	return a2
}

// TestResumeBufferOverflow: past 64 retained events the oldest are
// dropped, and resumed says how many of those the client asked for.
func TestResumeBufferOverflow(t *testing.T) {
	var w sessionWatch
	srv := startServerWith(t, Config{Rate: -1}, w.hooks())
	a, b, seq := w.droppedPair(t, srv, "call")
	const sent = retainMessages + 10
	sendCall(b, a.ID, sent-1)
	b.StillServed()
	a2 := dial(t, srv)
	resumeAs(a2, a, seq)
	if d := expectResumed(t, a2); d.Missed != retainMessages || d.Dropped != sent-retainMessages {
		t.Fatalf("resumed %+v, want %d missed and %d dropped", d, retainMessages, sent-retainMessages)
	}
	for i := sent - retainMessages - 1; i < sent-1; i++ {
		expectRelayed(t, a2, "ice-candidate", b.ID, seq+2+uint64(i), "candidate "+strconv.Itoa(i))
	}
	a2.StillServed() // and nothing more
	if m := srv.Metrics(); m.Replayed != retainMessages || m.RetainDropped != sent-retainMessages {
		t.Fatalf("metrics: %d replayed, %d dropped; want %d and %d", m.Replayed, m.RetainDropped, retainMessages, sent-retainMessages)
	}
}

// TestResumeKeepsTheSeat: while a is away its room fills up; its seat was
// kept, so it is still a member when it comes back, and the room never
// held more than 6.
func TestResumeKeepsTheSeat(t *testing.T) {
	var w sessionWatch
	srv := startServerWith(t, Config{}, w.hooks())
	a, b, seq := w.droppedPair(t, srv, "call")
	for range 4 {
		dial(t, srv).Join("call")
	}
	late := dial(t, srv)
	late.Send("join-room", map[string]any{"roomId": "call"})
	late.ExpectError("room-full", "join-room")
	a2 := dial(t, srv)
	resumeAs(a2, a, seq)
	d := expectResumed(t, a2)
	if len(d.Participants) != 6 || d.Participants[0] != a.ID || d.Participants[1] != b.ID || d.Missed != 4 {
		t.Fatalf("resumed %+v", d)
	}
}

// TestResumeTakesOverAnOpenSocket: a client that noticed the drop before
// the server did resumes while its old socket is still open there: the
// old one is closed with 4001, the new one has the session.
func TestResumeTakesOverAnOpenSocket(t *testing.T) {
	srv := startServer(t, Config{EventLoops: 2})
	a, b, seq := resumablePair(t, srv)
	callAndResume(t, srv, a, b, seq, 3)
	expectCall(t, a, b.ID, 3, seq+1) // the old socket had them too: it was open
	a.ExpectClose(websocket.StatusCode(statusTakenOver))
	b.StillServed() // no participants: a never left
	if n := srv.Clients(); n != 2 {
		t.Fatalf("%d clients, want 2", n)
	}
}

// TestTwoResumesRace: two new connections resume one session at once:
// exactly one holds it in the end, and every event reaches it once.
func TestTwoResumesRace(t *testing.T) {
	var w sessionWatch
	srv := startServerWith(t, Config{EventLoops: 4}, w.hooks())
	for round := range 10 {
		a, b, seq := w.droppedPair(t, srv, "race"+strconv.Itoa(round))
		sendCall(b, a.ID, 2)
		b.StillServed()
		x, y := dial(t, srv), dial(t, srv)
		var wg sync.WaitGroup
		for _, c := range []*testkit.Client{x, y} {
			wg.Go(func() { resumeAs(c, a, seq) })
		}
		wg.Wait()
		// Each gets resumed or resume-failed first. Once both have, the
		// session is where it stays: a later resume took it from an
		// earlier one, which is closed with 4001. A marker sent now
		// reaches the holder alone.
		first := make([]testkit.Event, 2)
		for i, c := range []*testkit.Client{x, y} {
			first[i] = c.Expect("resumed", "error")
		}
		b.Send("ice-candidate", map[string]any{"targetClientId": a.ID, "candidate": "marker"})
		holders := 0
		for i, c := range []*testkit.Client{x, y} {
			if first[i].Event == "error" {
				if code := first[i].Str(t, "code"); code != "resume-failed" {
					t.Fatalf("round %d: error %s", round, first[i].Data)
				}
				continue
			}
			if !holds(t, c, b.ID, seq) {
				continue
			}
			holders++
		}
		if holders != 1 {
			t.Fatalf("round %d: %d connections hold the session", round, holders)
		}
	}
}

// holds reads a resumed connection's events: the call's answer and two
// candidates, each once and in order, then the marker if c holds the
// session, or close 4001 if another resume took it over.
func holds(t *testing.T, c *testkit.Client, from string, seq uint64) bool {
	t.Helper()
	want := []string{"answer", "candidate 0", "candidate 1", "marker"}
	for i, payload := range want {
		ev, err := c.Read()
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusCode(statusTakenOver) {
				t.Fatalf("reading %s: %v", payload, err)
			}
			return false
		}
		key := "candidate"
		if i == 0 {
			key = "answer"
		}
		if ev.Seq != seq+1+uint64(i) || ev.Str(t, key) != payload || ev.Str(t, "fromClientId") != from {
			t.Fatalf("got %s, want %s with seq %d", ev.Raw, payload, seq+1+uint64(i))
		}
	}
	return true
}

// TestStopEndsDetachedSessions: Stop does not wait out the grace.
func TestStopEndsDetachedSessions(t *testing.T) {
	var w sessionWatch
	cfg := Config{Interface: "127.0.0.1", ResumeGrace: time.Hour}
	hooks := w.hooks()
	hooks.minTimeout = 100 * time.Millisecond
	srv, err := start(cfg, hooks)
	if err != nil {
		t.Fatal(err)
	}
	a, b, _ := resumablePair(t, srv)
	_ = a.Conn.CloseNow()
	testkit.CheckFor(t, waitTimeout, pollEvery, w.dropped(a.ID))
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	b.ExpectClose(websocket.StatusGoingAway)
	if n := srv.Clients(); n != 0 {
		t.Fatalf("%d clients after Stop", n)
	}
}

// TestARoomlessSessionEndsWithItsSocket: a resumable client that left its
// room and then dropped has no seat to keep and nobody to keep from hearing
// it left: its session ends at once, its seat under --clients is free, and
// a resume is refused.
func TestARoomlessSessionEndsWithItsSocket(t *testing.T) {
	srv := startServer(t, Config{})
	a, b, _ := resumablePair(t, srv)
	a.Send("leave-room", nil)
	seq := a.Expect("room-left").Seq
	ackLast(a, seq)
	if p := b.Expect("participants").List(t, "participants"); len(p) != 1 {
		t.Fatalf("participants %v after a left", p)
	}
	a.StillServed()
	_ = a.Conn.CloseNow()
	testkit.CheckFor(t, waitTimeout, pollEvery, clientsConnected(srv, 1))
	a2 := dial(t, srv)
	resumeAs(a2, a, seq)
	a2.ExpectError("resume-failed", "resume")
}
