package cluster_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/redrtc/redrtc/internal/testkit"
)

// TestNeverASeventhMember races nine joins of one room, three on each of
// three nodes, round after round: six are seated and three refused with
// room-full, whichever nodes the joins arrive on.
func TestNeverASeventhMember(t *testing.T) {
	nats := startNATS(t)
	nodes := startCluster(t, nats, 3, nodeOptions{})
	rounds := 12
	if testing.Short() {
		rounds = 3
	}
	for round := range rounds {
		room := fmt.Sprintf("race-%d", round)
		var clients []*testkit.Client
		for i := range 9 {
			clients = append(clients, testkit.Dial(t, nodes[i%3].URL))
		}
		var start, sent sync.WaitGroup
		start.Add(1)
		for _, c := range clients {
			sent.Add(1)
			go func() {
				defer sent.Done()
				start.Wait()
				c.Send("join-room", map[string]any{"roomId": room})
			}()
		}
		start.Done()
		sent.Wait()
		var seated []*testkit.Client
		for i, c := range clients {
			ev := c.Expect("room-created", "room-joined", "error")
			if ev.Event == "room-created" {
				ev = c.Expect("room-joined")
			}
			switch {
			case ev.Event == "room-joined":
				seated = append(seated, c)
			case ev.Str(t, "code") != "room-full":
				t.Fatalf("round %d, client %d: %s", round, i, ev.Raw)
			}
		}
		if len(seated) != 6 {
			t.Fatalf("round %d: %d of 9 racing joins seated, want 6", round, len(seated))
		}
		// Every member ends up seeing the same six, in the same order.
		var want []string
		for _, c := range seated {
			want = append(want, c.ID)
		}
		var final []string
		for i, c := range seated {
			got := lastParticipants(t, c, 6)
			if i == 0 {
				final = got
			}
			if !slices.Equal(got, final) {
				t.Fatalf("round %d: member %d sees %v, member 0 %v", round, i, got, final)
			}
		}
		slices.Sort(want)
		slices.Sort(final)
		if !slices.Equal(want, final) {
			t.Fatalf("round %d: members %v, seated %v", round, final, want)
		}
		for _, c := range clients {
			_ = c.Conn.CloseNow()
		}
	}
}

// lastParticipants reads participants events until one lists n members,
// and returns it.
func lastParticipants(t testing.TB, c *testkit.Client, n int) []string {
	t.Helper()
	for {
		ev := c.Await("participants")
		if got := ev.List(t, "participants"); len(got) == n {
			return got
		}
	}
}

// TestParticipantsInOneOrder has six clients on three nodes join one room
// at once: each member's successive participants are prefixes of the final
// list, growing, so that every member, on whichever node, sees the room's
// changes in one order.
func TestParticipantsInOneOrder(t *testing.T) {
	nats := startNATS(t)
	nodes := startCluster(t, nats, 3, nodeOptions{})
	var clients []*testkit.Client
	for i := range 6 {
		clients = append(clients, testkit.Dial(t, nodes[i%3].URL))
	}
	var sent sync.WaitGroup
	for _, c := range clients {
		sent.Add(1)
		go func() {
			defer sent.Done()
			c.Send("join-room", map[string]any{"roomId": "order"})
		}()
	}
	sent.Wait()
	seen := make([][][]string, len(clients))
	for i, c := range clients {
		for {
			ev := c.Expect("room-created", "room-joined", "participants")
			if ev.Event != "participants" {
				continue
			}
			got := ev.List(t, "participants")
			seen[i] = append(seen[i], got)
			if len(got) == 6 {
				break
			}
		}
	}
	final := seen[0][len(seen[0])-1]
	for i, lists := range seen {
		prev := 0
		for _, l := range lists {
			if len(l) <= prev || !slices.Equal(l, final[:len(l)]) {
				t.Fatalf("member %d saw %v; final list %v", i, lists, final)
			}
			prev = len(l)
		}
	}
}
