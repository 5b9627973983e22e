package cluster_test

import (
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/redrtc/redrtc/internal/testkit"
)

// TestDrainResumesOnAnotherNode drains the node of a client in a call with
// a client on another node: the client is closed with 1001, reconnects to
// the other node and resumes there with its id and seat, and gets what it
// had not acknowledged and what was sent to it meanwhile, in order. Its
// room-mate sees nobody leave. The drained node is done once the session
// has moved.
func TestDrainResumesOnAnotherNode(t *testing.T) {
	nats := startNATS(t)
	nodes := startCluster(t, nats, 2, nodeOptions{})
	// a and a2 are on the node that drains, b on the other.
	a, a2, b := testkit.Dial(t, nodes[0].URL), testkit.Dial(t, nodes[0].URL), testkit.Dial(t, nodes[1].URL)
	joinAll(t, "handover", a, a2, b)
	// a and a2 ack everything so far: their sessions are resumable, and
	// hold only what comes next.
	lastSeq := ackAll(t, a)
	lastSeq2 := ackAll(t, a2)

	b.Send("offer", map[string]any{"targetClientId": a.ID, "offer": map[string]any{"type": "offer", "sdp": "v=0 before"}})
	if got := a.Expect("offer"); got.Seq != lastSeq+1 {
		t.Fatalf("offer seq %d, want %d", got.Seq, lastSeq+1)
	}
	nodes[0].srv.Drain()
	a.ExpectClose(websocket.StatusGoingAway)
	a2.ExpectClose(websocket.StatusGoingAway)
	b.Send("ice-candidate", map[string]any{"targetClientId": a.ID, "candidate": map[string]any{"candidate": "while away"}})

	// Both resume at once: each node's handover must leave the other's seat
	// alone while it moves.
	again, again2 := testkit.Dial(t, nodes[1].URL), testkit.Dial(t, nodes[1].URL)
	again.Send("resume", map[string]any{"clientId": a.ID, "resumeToken": a.Token, "lastSeq": lastSeq})
	again2.Send("resume", map[string]any{"clientId": a2.ID, "resumeToken": a2.Token, "lastSeq": lastSeq2})
	resumed := again.Expect("resumed")
	if resumed.Str(t, "clientId") != a.ID || resumed.Str(t, "roomId") != "handover" {
		t.Fatalf("resumed %s", resumed.Raw)
	}
	if got := resumed.List(t, "participants"); len(got) != 3 {
		t.Fatalf("resumed into %v", got)
	}
	if offer := again.Expect("offer"); offer.Seq != lastSeq+1 || offer.Str(t, "fromClientId") != b.ID {
		t.Fatalf("replayed %s, want the offer at seq %d", offer.Raw, lastSeq+1)
	}
	cand := again.Expect("ice-candidate")
	if c, _ := cand.Field(t, "candidate").(map[string]any); c["candidate"] != "while away" || cand.Seq != lastSeq+2 {
		t.Fatalf("then %s, want the candidate sent while away at seq %d", cand.Raw, lastSeq+2)
	}
	if got := again2.Expect("resumed").List(t, "participants"); len(got) != 3 {
		t.Fatalf("a2 resumed into %v", got)
	}
	// The call goes on, on the new node, both ways; b heard of no change.
	b.Send("answer", map[string]any{"targetClientId": a.ID, "answer": map[string]any{"type": "answer", "sdp": "v=0 after"}})
	again.Expect("answer")
	again.Send("ice-candidate", map[string]any{"targetClientId": b.ID, "candidate": map[string]any{"candidate": "back"}})
	b.Expect("ice-candidate")
	b.StillServed()
	select {
	case <-nodes[0].srv.Drained():
	case <-time.After(10 * time.Second):
		t.Fatal("the drained node still waits for the session it handed over")
	}
}

// ackAll acks every event c has been sent: an ack of a seq far ahead is
// refused with an error that carries the last seq, which is then acked.
// It returns that seq.
func ackAll(t testing.TB, c *testkit.Client) uint64 {
	t.Helper()
	c.Send("ack", map[string]any{"seq": 1 << 40})
	last := c.ExpectError("bad-request", "ack").Seq
	c.Send("ack", map[string]any{"seq": last})
	return last
}
