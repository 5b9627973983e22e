package cluster_test

import (
	"slices"
	"testing"
	"time"

	"github.com/redrtc/redrtc/internal/testkit"
)

// joinAll joins cs, in order, to room, reading each one's replies, and
// returns their ids.
func joinAll(t testing.TB, room string, cs ...*testkit.Client) []string {
	t.Helper()
	var ids []string
	for i, c := range cs {
		c.Send("join-room", map[string]any{"roomId": room})
		if i == 0 {
			c.Expect("room-created")
		}
		c.Expect("room-joined")
		ids = append(ids, c.ID)
		for _, m := range cs[:i+1] {
			lastParticipants(t, m, i+1)
		}
	}
	return ids
}

// TestNodeKilledMidCall kills one of three nodes while its client is in a
// call with clients on the other two: they see it leave within
// --node-timeout, its seat is free for a newcomer, and the call goes on.
func TestNodeKilledMidCall(t *testing.T) {
	nats := startNATS(t)
	nodes := startCluster(t, nats, 3, nodeOptions{timeout: time.Second})
	a, b, c := testkit.Dial(t, nodes[0].URL), testkit.Dial(t, nodes[1].URL), testkit.Dial(t, nodes[2].URL)
	joinAll(t, "call", a, b, c)
	killed := time.Now()
	nodes[2].kill()
	for _, m := range []*testkit.Client{a, b} {
		got := lastParticipants(t, m, 2)
		if slices.Contains(got, c.ID) {
			t.Fatalf("participants %v still hold the lost node's client", got)
		}
	}
	if waited := time.Since(killed); waited > 5*time.Second {
		t.Fatalf("the lost node's member left after %v; --node-timeout is 1 s", waited)
	}
	// The room works on: a relay, and a newcomer on a surviving node.
	a.Send("offer", map[string]any{"targetClientId": b.ID, "offer": map[string]any{"type": "offer", "sdp": "v=0"}})
	if ev := b.Expect("offer"); ev.Str(t, "fromClientId") != a.ID {
		t.Fatalf("offer from %s, want %s", ev.Str(t, "fromClientId"), a.ID)
	}
	d := testkit.Dial(t, nodes[1].URL)
	d.Send("join-room", map[string]any{"roomId": "call"})
	if got := d.Expect("room-joined").List(t, "participants"); len(got) != 3 || slices.Contains(got, c.ID) {
		t.Fatalf("the newcomer joined %v", got)
	}
}

// TestNATSStoppedAndRestarted stops NATS under a call spread over two
// nodes and a call on one node: the one-node call goes on, a relay across
// nodes and a join get cluster-unavailable, and once NATS is back (with an
// empty bucket: it was in memory) the nodes put their members back and the
// call across nodes works again, with the same members and no ghosts.
func TestNATSStoppedAndRestarted(t *testing.T) {
	nats := startNATS(t)
	nodes := startCluster(t, nats, 2, nodeOptions{timeout: time.Second})
	a, b := testkit.Dial(t, nodes[0].URL), testkit.Dial(t, nodes[1].URL)
	joinAll(t, "across", a, b)
	x, y := testkit.Dial(t, nodes[0].URL), testkit.Dial(t, nodes[0].URL)
	joinAll(t, "local", x, y)
	leaver := testkit.Dial(t, nodes[1].URL)
	joinAll(t, "leaving", leaver, testkit.Dial(t, nodes[0].URL))

	nats.Stop()
	testkit.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if nodes[0].node.Connected() || nodes[1].node.Connected() {
			return errString("a node still thinks it is connected")
		}
		return nil
	})
	x.Send("offer", map[string]any{"targetClientId": y.ID, "offer": map[string]any{"type": "offer", "sdp": "v=0"}})
	y.Expect("offer")
	a.Send("offer", map[string]any{"targetClientId": b.ID, "offer": map[string]any{"type": "offer", "sdp": "v=0"}})
	a.ExpectError("cluster-unavailable", "offer")
	z := testkit.Dial(t, nodes[0].URL)
	z.Send("join-room", map[string]any{"roomId": "local"})
	z.ExpectError("cluster-unavailable", "join-room")
	// A client that leaves while NATS is away leaves no ghost behind.
	_ = leaver.Conn.CloseNow()

	nats.Start()
	// Once both nodes are back, the call across them carries on, with no
	// participants in between: neither side saw the other leave.
	testkit.CheckFor(t, 15*time.Second, 20*time.Millisecond, func() error {
		for _, nd := range nodes {
			info, ok := nd.srv.Room("across")
			if !nd.node.Connected() || !ok || len(info.Members) != 2 {
				return errString("node not back in the room across")
			}
		}
		return nil
	})
	a.Send("offer", map[string]any{"targetClientId": b.ID, "offer": map[string]any{"type": "offer", "sdp": "v=1"}})
	if ev := b.Expect("offer"); ev.Str(t, "fromClientId") != a.ID {
		t.Fatalf("offer from %s", ev.Str(t, "fromClientId"))
	}
	y.Send("offer", map[string]any{"targetClientId": x.ID, "offer": map[string]any{"type": "offer", "sdp": "v=0"}})
	x.Await("offer")
	// The bucket converges on who is connected: the room the leaver was in
	// holds its remaining member alone.
	testkit.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		info, ok := nodes[0].srv.Room("leaving")
		if !ok || len(info.Members) != 1 {
			return errString("room leaving is not down to one member")
		}
		return nil
	})
}

type errString string

func (e errString) Error() string { return string(e) }
