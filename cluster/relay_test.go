package cluster_test

import (
	"fmt"
	"testing"

	"github.com/redrtc/redrtc/internal/testkit"
)

// TestRelayAcrossNodes puts the members of one room on three nodes: each
// learns the others from participants, and every offer, answer and
// candidate reaches its target once, in order, with the sender's id.
func TestRelayAcrossNodes(t *testing.T) {
	nats := startNATS(t)
	nodes := startCluster(t, nats, 3, nodeOptions{})
	var clients []*testkit.Client
	for i := range 3 {
		c := testkit.Dial(t, nodes[i].URL)
		clients = append(clients, c)
		c.Send("join-room", map[string]any{"roomId": "across"})
		if i == 0 {
			c.Expect("room-created")
		}
		joined := c.Expect("room-joined")
		if got := joined.List(t, "participants"); len(got) != i+1 || got[i] != c.ID {
			t.Fatalf("room-joined of member %d lists %v", i, got)
		}
		c.Expect("participants")
		for _, earlier := range clients[:i] {
			p := earlier.Expect("participants")
			if got := p.List(t, "participants"); len(got) != i+1 {
				t.Fatalf("participants %v after join %d", got, i)
			}
		}
	}
	const each = 90 // two targets each: within --burst
	for from, a := range clients {
		for to, b := range clients {
			if from == to {
				continue
			}
			for k := range each {
				a.Send("ice-candidate", map[string]any{"targetClientId": b.ID, "candidate": map[string]any{"candidate": fmt.Sprintf("%d", k)}})
			}
		}
	}
	for to, b := range clients {
		next := map[string]int{}
		for range each * (len(clients) - 1) {
			ev := b.Expect("ice-candidate")
			from := ev.Str(t, "fromClientId")
			cand, _ := ev.Field(t, "candidate").(map[string]any)
			if want := fmt.Sprint(next[from]); cand["candidate"] != want {
				t.Fatalf("client %d got candidate %v from %s, want %s", to, cand["candidate"], from, want)
			}
			next[from]++
		}
		for from, a := range clients {
			if from != to && next[a.ID] != each {
				t.Fatalf("client %d got %d candidates from %d, want %d", to, next[a.ID], from, each)
			}
		}
		b.StillServed()
	}
}
