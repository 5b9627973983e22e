package registry

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redrtc/redrtc/proto"
)

// recorder is an Announcer that records what each member was told, so tests
// can check ordering; it is called under the room lock, like the real one.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) Joined(room *Room, joiner *Client, created bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("joined %s %x created=%v members=%d", room.ID, joiner.ID[:1], created, len(room.Members())))
}

func (r *recorder) Left(room *Room, leaver *Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("left %s %x members=%d", room.ID, leaver.ID[:1], len(room.Members())))
}

func newClient(n int) *Client {
	var id proto.ClientID
	id[0], id[1] = byte(n), byte(n>>8)
	return &Client{ID: id}
}

func TestClientsAdmission(t *testing.T) {
	tab := NewClients(2)
	a, b, c := newClient(1), newClient(2), newClient(3)
	for _, tc := range []struct {
		name string
		c    *Client
		want error
	}{
		{"first", a, nil},
		{"duplicate id", &Client{ID: a.ID}, ErrDuplicate},
		{"second", b, nil},
		{"over the limit", c, ErrServerFull},
	} {
		if err := tab.Add(tc.c); !errors.Is(err, tc.want) {
			t.Fatalf("%s: Add = %v, want %v", tc.name, err, tc.want)
		}
	}
	if tab.Get(a.ID) != a || tab.Get(c.ID) != nil || tab.Len() != 2 {
		t.Fatal("table contents wrong")
	}
	tab.Remove(a)
	tab.Remove(a)
	if tab.Len() != 1 || tab.Get(a.ID) != nil {
		t.Fatalf("after removing twice: len %d", tab.Len())
	}
	if err := tab.Add(c); err != nil {
		t.Fatalf("a freed seat is reusable: %v", err)
	}
}

func TestClientsLimitUnderContention(t *testing.T) {
	tab := NewClients(100)
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tab.Add(newClient(i)) == nil {
				admitted.Add(1)
			}
		}()
	}
	wg.Wait()
	if admitted.Load() != 100 || tab.Len() != 100 {
		t.Fatalf("admitted %d, len %d, want 100", admitted.Load(), tab.Len())
	}
}

func TestRoomJoinLeave(t *testing.T) {
	rooms := NewRooms(10)
	rec := &recorder{}
	a, b := newClient(1), newClient(2)
	if err := rooms.Join(a, []byte("r"), `"R"`, rec); err != nil {
		t.Fatal(err)
	}
	if err := rooms.Join(b, []byte("r"), `"ignored"`, rec); err != nil {
		t.Fatal(err)
	}
	if a.Room() == nil || a.Room() != b.Room() || a.Room().Name != `"R"` || a.Room().Len() != 2 {
		t.Fatal("a and b should share room r named R")
	}
	if r := rooms.Leave(b, rec); r == nil || r.ID != "r" || b.Room() != nil {
		t.Fatal("b should have left r")
	}
	if rooms.Leave(b, rec) != nil {
		t.Fatal("leaving twice should report no room")
	}
	rooms.Leave(a, rec)
	if rooms.Len() != 0 {
		t.Fatalf("empty room not removed: %d rooms", rooms.Len())
	}
	want := []string{
		"joined r 01 created=true members=1",
		"joined r 02 created=false members=2",
		"left r 02 members=1",
	}
	if !slices.Equal(rec.events, want) {
		t.Fatalf("announcements\n got %q\nwant %q", rec.events, want)
	}
}

func TestRoomCapacityUnderContention(t *testing.T) {
	for round := range 50 {
		rooms := NewRooms(1)
		var joined atomic.Int64
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := rooms.Join(newClient(i), []byte("r"), `"r"`, &recorder{})
				switch {
				case err == nil:
					joined.Add(1)
				case !errors.Is(err, ErrRoomFull):
					t.Errorf("join: %v", err)
				}
			}()
		}
		wg.Wait()
		if joined.Load() != RoomCapacity {
			t.Fatalf("round %d: %d joined, want %d", round, joined.Load(), RoomCapacity)
		}
	}
}

// TestRoomChurnKeepsCountsExact joins and leaves many rooms from many
// goroutines, including rooms emptying while others join them.
func TestRoomChurnKeepsCountsExact(t *testing.T) {
	rooms := NewRooms(8)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient(g)
			for i := range 500 {
				id := []byte(fmt.Sprintf("room-%d", (g+i)%10))
				err := rooms.Join(c, id, `"x"`, &recorder{})
				if err != nil && !errors.Is(err, ErrRoomFull) && !errors.Is(err, ErrRoomLimit) {
					t.Errorf("join: %v", err)
					return
				}
				if n := rooms.Len(); n > 8 {
					t.Errorf("%d rooms, limit 8", n)
					return
				}
				rooms.Leave(c, &recorder{})
			}
		}()
	}
	wg.Wait()
	if rooms.Len() != 0 {
		t.Fatalf("%d rooms left after everyone left", rooms.Len())
	}
	for i := range rooms.shards {
		if n := len(rooms.shards[i].m); n != 0 {
			t.Fatalf("shard %d still maps %d rooms", i, n)
		}
	}
}

// panicsOnJoin is an Announcer whose Joined panics, as a bug in the server's
// encoding would.
type panicsOnJoin struct{ recorder }

func (p *panicsOnJoin) Joined(*Room, *Client, bool) { panic("announcing a join") }

// TestARoomEmptiedByAJoinThatPanicsLeavesTheTable: a client moving from a room
// it was alone in empties that room; when announcing the move then panics
// (and the server recovers), the emptied room must still leave the table, or
// its seat would stay counted and every later join of its id would retry
// forever.
func TestARoomEmptiedByAJoinThatPanicsLeavesTheTable(t *testing.T) {
	rooms := NewRooms(10)
	a := newClient(1)
	if err := rooms.Join(a, []byte("old"), `"Old"`, &recorder{}); err != nil {
		t.Fatal(err)
	}
	joinThatPanics(t, rooms, a, "new", &panicsOnJoin{})
	if rooms.Len() != 1 {
		t.Fatalf("%d rooms, want only the one a moved to", rooms.Len())
	}
	b := newClient(2)
	if err := rooms.Join(b, []byte("old"), `"Old again"`, &recorder{}); err != nil {
		t.Fatal(err)
	}
	if b.Room().Name != `"Old again"` || b.Room().Len() != 1 {
		t.Fatalf("joining old again should create it afresh, got %s with %d members", b.Room().Name, b.Room().Len())
	}
}

// joinThatPanics moves c into room id with an Announcer that panics, and
// checks that the panic reaches the caller, as the server's recover needs.
func joinThatPanics(t *testing.T, rooms *Rooms, c *Client, id string, a Announcer) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatal("the announcer's panic did not reach the caller")
		}
	}()
	_ = rooms.Join(c, []byte(id), `"New"`, a)
}

// panicsOnLeft is an Announcer whose Left panics, as a bug in the server's
// encoding would.
type panicsOnLeft struct{ recorder }

func (p *panicsOnLeft) Left(*Room, *Client) { panic("announcing a departure") }

// TestANewRoomLeftEmptyByAJoinThatPanicsLeavesTheTable: a client moving out
// of a room others stay in, into a room its join creates, has its departure
// announced before it enters the new room; when that panics (and the server
// recovers), the new room, empty, must leave the table, or its seat would
// stay counted against the limit for good.
func TestANewRoomLeftEmptyByAJoinThatPanicsLeavesTheTable(t *testing.T) {
	rooms := NewRooms(2)
	a, b := newClient(1), newClient(2)
	for _, c := range []*Client{a, b} {
		if err := rooms.Join(c, []byte("old"), `"Old"`, &recorder{}); err != nil {
			t.Fatal(err)
		}
	}
	joinThatPanics(t, rooms, a, "new", &panicsOnLeft{})
	if rooms.Len() != 1 {
		t.Fatalf("%d rooms, want only old: the empty new room keeps a seat", rooms.Len())
	}
	c := newClient(3)
	if err := rooms.Join(c, []byte("another"), `"Another"`, &recorder{}); err != nil {
		t.Fatalf("a second room under a limit of 2: %v", err)
	}
}

// creations records, for each room-created announcement, whether the creator
// was the room's first member and whether the room bore the creator's name.
type creations struct {
	recorder
	names   map[*Client]string
	created atomic.Int64
	wrong   atomic.Int64
}

func (c *creations) Joined(room *Room, joiner *Client, created bool) {
	if !created {
		return
	}
	c.created.Add(1)
	if room.Members()[0] != joiner || room.Name != c.names[joiner] {
		c.wrong.Add(1)
	}
}

// TestTheCreatorOfARoomIsItsFirstMember: when two clients join a room that
// does not exist at the same moment, exactly one of them is told it created
// the room, and that one is the first member and gave the room its name, as
// docs/protocol.md promises client authors.
func TestTheCreatorOfARoomIsItsFirstMember(t *testing.T) {
	const rounds = 10000
	rooms := NewRooms(rounds)
	ann := &creations{names: make(map[*Client]string)}
	pairs := make([][2]*Client, rounds)
	for i := range pairs {
		pairs[i] = [2]*Client{newClient(2 * i), newClient(2*i + 1)}
		ann.names[pairs[i][0]], ann.names[pairs[i][1]] = `"first"`, `"second"`
	}
	for i, pair := range pairs {
		id := []byte(fmt.Sprintf("room-%d", i))
		var start, wg sync.WaitGroup
		start.Add(1)
		for _, c := range pair {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				if err := rooms.Join(c, id, ann.names[c], ann); err != nil {
					t.Errorf("join %s: %v", id, err)
				}
			}()
		}
		start.Done()
		wg.Wait()
	}
	if n := ann.created.Load(); n != rounds {
		t.Fatalf("%d rooms announced as created, want %d", n, rounds)
	}
	if n := ann.wrong.Load(); n != 0 {
		t.Fatalf("%d of %d rooms were announced as created to a client that was not their first member or whose name they did not bear", n, rounds)
	}
}
