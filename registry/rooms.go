package registry

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

const roomShards = 64 // a power of two

// Rooms is the table of rooms keyed by room id.
//
// Lock order: a shard lock is never held while taking a room lock, and a room
// lock is never held while taking a shard lock. Two room locks are held at
// once only by Join moving a client between rooms, taken in the order of the
// rooms' ids. A room lock is held while the Announcer or Deliver sends, which
// takes only the senders' own locks.
type Rooms struct {
	limit  int64
	count  atomic.Int64
	seed   maphash.Seed
	shards [roomShards]roomShard
}

// roomShard fills whole cache lines, as clientShard does.
type roomShard struct {
	_ [(cacheLine - unsafe.Sizeof(roomShardState{})%cacheLine) % cacheLine]byte
	roomShardState
}

type roomShardState struct {
	mu sync.Mutex
	m  map[string]*Room
}

// NewRooms returns an empty table holding at most limit rooms.
func NewRooms(limit int) *Rooms {
	t := &Rooms{limit: int64(limit), seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].m = make(map[string]*Room)
	}
	return t
}

func (t *Rooms) shard(id []byte) *roomShard {
	return &t.shards[maphash.Bytes(t.seed, id)&(roomShards-1)]
}

// shardOf is shard for a string id; maphash hashes both forms alike.
func (t *Rooms) shardOf(id string) *roomShard {
	return &t.shards[maphash.String(t.seed, id)&(roomShards-1)]
}

// Len returns the number of rooms.
func (t *Rooms) Len() int { return int(t.count.Load()) }

// Join puts c into the room id, creating it when it does not exist. A client
// already in a room leaves it in the same step, and only if the join
// succeeds: a refused join changes nothing. Admission is atomic: a room never
// holds more than RoomCapacity members and the table never more than its
// limit of rooms, however many clients join at once.
//
// The room's creator, as the Announcer is told, is its first member, and the
// room bears the name (a JSON string token) that member asked for. That need
// not be the client whose join put the room in the table: another joiner can
// take the new room's lock first.
func (t *Rooms) Join(c *Client, id []byte, name string, a Announcer) error {
	for {
		if retry, err := t.joinOnce(c, id, name, a); !retry {
			return err
		}
	}
}

// joinOnce is one attempt of Join; retry is set when the room it found died
// before its lock was had.
func (t *Rooms) joinOnce(c *Client, id []byte, name string, a Announcer) (retry bool, err error) {
	s := t.shard(id)
	s.mu.Lock()
	r := s.m[string(id)]
	if r == nil {
		if !t.reserve() {
			s.mu.Unlock()
			return false, ErrRoomLimit
		}
		r = &Room{ID: string(id), created: time.Now().UnixNano()}
		s.m[r.ID] = r
	}
	s.mu.Unlock()

	// c's old room, when c was its last member, is dead once admit has
	// marked it so, and must leave the table even if the Announcer panics
	// after that: joiners of a dead room retry until it is gone. Deferred,
	// this runs after admit has let go of the room locks, as the lock order
	// requires.
	var emptied, abandoned *Room
	defer func() {
		if emptied != nil {
			t.unlink(emptied)
		}
		if abandoned != nil {
			t.unlink(abandoned)
		}
	}()
	return r.admit(c, name, a, &emptied, &abandoned)
}

// admit moves c into r, out of the room it is in; r takes name when c is its
// first member. It holds r's lock and, when c is in another room, that room's
// lock too, taken in the order of their ids. retry is set when r died before
// its lock was had; *emptied is set to c's old room when c was its last
// member, and *abandoned to r when r is new and admit ends (by a panic) with
// nobody in it.
func (r *Room) admit(c *Client, name string, a Announcer, emptied, abandoned **Room) (retry bool, err error) {
	old := c.room.Load()
	switch {
	case old == nil || old == r:
		r.mu.Lock()
		defer r.mu.Unlock()
	case old.ID < r.ID:
		old.mu.Lock()
		defer old.mu.Unlock()
		r.mu.Lock()
		defer r.mu.Unlock()
	default:
		r.mu.Lock()
		defer r.mu.Unlock()
		old.mu.Lock()
		defer old.mu.Unlock()
	}
	if r.dead {
		return true, nil
	}
	// A new room left empty, because announcing the move out of c's old room
	// panicked, would keep its seat under the limit for good: a room without
	// a roomId has an id nobody else knows. Deferred after the locks, it
	// runs before they are released.
	defer func() {
		if r.n == 0 {
			r.dead = true
			*abandoned = r
		}
	}()
	if old == r { // joining the room it is in: leave, then join at the end
		r.remove(c)
		if r.n > 0 {
			a.Left(r, c)
		}
		r.add(c)
		a.Joined(r, c, false)
		return false, nil
	}
	if r.n == RoomCapacity {
		return false, ErrRoomFull
	}
	if old != nil {
		old.remove(c)
		if old.n > 0 {
			a.Left(old, c)
		} else {
			old.dead = true
			*emptied = old
		}
	}
	// A live room with no members is one nobody has joined yet: a room that
	// empties dies.
	created := r.n == 0
	if created {
		r.Name = name
	}
	r.add(c)
	c.room.Store(r)
	a.Joined(r, c, created)
	return false, nil
}

// Deliver sends msg to `to` when both from and to are members of r, under
// r's lock, so that a client that has just left can no longer be reached.
func (r *Room) Deliver(from, to *Client, msg []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead || from.room.Load() != r || to.room.Load() != r {
		return false
	}
	to.Sender.Send(msg)
	r.relayed++
	return true
}

// leave removes c from r under r's lock and reports whether r is now empty.
func (r *Room) leave(c *Client, a Announcer) (emptied bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.remove(c)
	c.room.Store(nil)
	if r.hasLocal() {
		a.Left(r, c)
		return false
	}
	r.die()
	return true
}

func (t *Rooms) reserve() bool {
	for {
		n := t.count.Load()
		if n >= t.limit {
			return false
		}
		if t.count.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// unlink removes an emptied room from the table. Its seat under the limit
// is given back under the shard lock, so a joiner that no longer finds the
// room never sees it still counted.
func (t *Rooms) unlink(r *Room) {
	s := t.shardOf(r.ID)
	s.mu.Lock()
	if s.m[r.ID] == r {
		delete(s.m, r.ID)
		t.count.Add(-1)
	}
	s.mu.Unlock()
}

// Leave takes c out of its room and returns that room, or nil when c was in
// none. The remaining members are announced; an emptied room is removed.
func (t *Rooms) Leave(c *Client, a Announcer) *Room {
	r := c.room.Load()
	if r == nil {
		return nil
	}
	if r.leave(c, a) {
		t.unlink(r)
	}
	return r
}
