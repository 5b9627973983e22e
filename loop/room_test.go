package loop

import (
	"fmt"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/redrtc/redrtc/internal/testkit"
)

func TestSixMemberRoomFullMesh(t *testing.T) {
	srv := startServer(t, Config{})
	members := make([]*testkit.Client, 6)
	for i := range members {
		members[i] = dial(t, srv)
		members[i].Join("mesh")
		for _, earlier := range members[:i] {
			earlier.Expect("participants")
		}
	}
	// Every ordered pair exchanges an offer, an answer and two candidates.
	for i, from := range members {
		for j, to := range members {
			if i == j {
				continue
			}
			for k, step := range []struct{ event, key string }{
				{"offer", "offer"}, {"answer", "answer"}, {"ice-candidate", "candidate"}, {"ice-candidate", "candidate"},
			} {
				payload := fmt.Sprintf(`{"n":"%d-%d-%d"}`, i, j, k)
				from.SendRaw(`{"event":"` + step.event + `","data":{"targetClientId":"` + to.ID + `","` + step.key + `":` + payload + `}}`)
				ev := to.Expect(step.event)
				want := `{"fromClientId":"` + from.ID + `","` + step.key + `":` + payload + `}`
				if string(ev.Data) != want {
					t.Fatalf("%d->%d step %d: got %s want %s", i, j, k, ev.Data, want)
				}
			}
		}
	}

	t.Run("the seventh join is refused and changes nothing", func(t *testing.T) {
		seventh := dial(t, srv)
		seventh.Send("join-room", map[string]any{"roomId": "mesh"})
		seventh.ExpectError("room-full", "join-room")
		seventh.StillServed()
		// No member heard of it: their next message is the one sent now.
		members[0].Send("offer", map[string]any{"targetClientId": members[5].ID, "offer": 1})
		members[5].Expect("offer")
	})
}

// TestJoinRaceForTheLastSeat has many clients, spread over every event loop,
// join a room with one free seat at once: exactly one gets in. Run under
// -race, repeatedly.
func TestJoinRaceForTheLastSeat(t *testing.T) {
	srv := startServer(t, Config{EventLoops: 4})
	for round := range 10 {
		room := fmt.Sprintf("race-%d", round)
		seated := make([]*testkit.Client, 5)
		for i := range seated {
			seated[i] = dial(t, srv)
			seated[i].Join(room)
		}
		racers := make([]*testkit.Client, 8)
		for i := range racers {
			racers[i] = dial(t, srv)
		}
		var wg sync.WaitGroup
		results := make([]string, len(racers))
		for i, r := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.Send("join-room", map[string]any{"roomId": room})
				ev, err := r.Read()
				if err != nil {
					results[i] = err.Error()
					return
				}
				if ev.Event == "error" {
					results[i] = "error:" + ev.Str(t, "code")
				} else {
					results[i] = ev.Event
				}
			}()
		}
		wg.Wait()
		joined := 0
		for i, res := range results {
			switch res {
			case "room-joined":
				joined++
			case "error:room-full":
			default:
				t.Fatalf("round %d racer %d: unexpected %q", round, i, res)
			}
		}
		if joined != 1 {
			t.Fatalf("round %d: %d racers got the last seat", round, joined)
		}
		for _, c := range append(seated, racers...) {
			_ = c.Conn.CloseNow()
		}
		testkit.CheckFor(t, waitTimeout, pollEvery, tablesEmpty(srv))
	}
}

func TestRoomLimit(t *testing.T) {
	srv := startServer(t, Config{Rooms: 2})
	a, b, c := dial(t, srv), dial(t, srv), dial(t, srv)
	a.Join("one")
	b.Join("two")
	c.Send("join-room", map[string]any{"roomId": "three"})
	c.ExpectError("room-limit", "join-room")
	c.Join("two") // existing rooms can still be joined

	a.Send("leave-room", map[string]any{})
	a.Expect("room-left")
	c.Send("join-room", map[string]any{"roomId": "three"}) // a seat in the table is free again
	c.Expect("room-created")
}

// TestRoomLimitCountsTheNewRoomFirst: at --rooms, moving to a new room is
// refused even when the move would empty the mover's room, and the mover
// stays where it was; leaving first makes room.
func TestRoomLimitCountsTheNewRoomFirst(t *testing.T) {
	srv := startServer(t, Config{Rooms: 1})
	a := dial(t, srv)
	a.Join("one")
	a.Send("join-room", map[string]any{"roomId": "two"})
	a.ExpectError("room-limit", "join-room")
	if r := srv.clients.Get([16]byte(mustParseID(t, a.ID))).Room(); r == nil || r.ID != "one" {
		t.Fatalf("a is in %v, want one", r)
	}
	a.Send("leave-room", map[string]any{})
	a.Expect("room-left")
	a.Send("join-room", map[string]any{"roomId": "two"})
	a.Expect("room-created")
}

func TestRoomLimitUnderConcurrentCreation(t *testing.T) {
	srv := startServer(t, Config{Rooms: 5, EventLoops: 4})
	clients := make([]*testkit.Client, 20)
	for i := range clients {
		clients[i] = dial(t, srv)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Send("join-room", map[string]any{"roomId": fmt.Sprintf("room-%d", i)})
			ev, err := c.Read()
			if err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if ev.Event == "room-created" {
				created++
			} else if ev.Event != "error" || ev.Str(t, "code") != "room-limit" {
				t.Errorf("client %d: %s %s", i, ev.Event, ev.Data)
			}
		}()
	}
	wg.Wait()
	if created != 5 || srv.Rooms() != 5 {
		t.Fatalf("%d rooms created (table says %d), want 5", created, srv.Rooms())
	}
}

func TestClientLimit(t *testing.T) {
	srv := startServer(t, Config{Clients: 2})
	a := dial(t, srv)
	dial(t, srv)

	full := dialNoID(t, srv)
	full.ExpectError("server-full", "")
	full.ExpectClose(websocket.StatusCode(1013))
	if srv.Clients() != 2 {
		t.Fatalf("clients %d, want 2", srv.Clients())
	}
	a.StillServed()

	_ = a.Conn.CloseNow()
	testkit.CheckFor(t, waitTimeout, pollEvery, clientsConnected(srv, 1))
	dial(t, srv)
}

// TestRefusedJoinChangesNothing: a client in a room that asks to join a full
// one gets room-full and stays where it was; its room-mates hear nothing.
func TestRefusedJoinChangesNothing(t *testing.T) {
	srv := startServer(t, Config{})
	a, b := pairInRoom(t, srv, "home")
	for range 6 {
		dial(t, srv).Join("full")
	}
	a.Send("join-room", map[string]any{"roomId": "full"})
	a.ExpectError("room-full", "join-room")
	a.Send("offer", map[string]any{"targetClientId": b.ID, "offer": "still here"})
	if ev := b.Expect("offer"); ev.Str(t, "fromClientId") != a.ID {
		t.Fatalf("offer %s", ev.Data)
	}
	if r := srv.clients.Get([16]byte(mustParseID(t, a.ID))).Room(); r == nil || r.ID != "home" {
		t.Fatalf("a is in %v, want home", r)
	}
}
