package registry

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

const roomShards = 64 // a power of two

// Rooms is the table of rooms keyed by room id.
//
// Lock order: a shard lock is never held while taking a room lock, and a room
// lock is never held while taking a shard lock; a room lock is held while the
// Announcer sends, which takes only the senders' own locks.
type Rooms struct {
	limit  int64
	count  atomic.Int64
	seed   maphash.Seed
	shards [roomShards]roomShard
}

type roomShard struct {
	mu sync.Mutex
	m  map[string]*Room
	_  [48]byte // keep neighbouring shard locks off one cache line
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

// Join puts c into the room id, creating it (named name, a JSON string token)
// when it does not exist. c must not be in a room. Admission is atomic: a
// room never holds more than RoomCapacity members and the table never more
// than its limit of rooms, however many clients join at once.
func (t *Rooms) Join(c *Client, id []byte, name string, a Announcer) error {
	s := t.shard(id)
	for {
		s.mu.Lock()
		r := s.m[string(id)]
		if r == nil {
			if !t.reserve() {
				s.mu.Unlock()
				return ErrRoomLimit
			}
			r = &Room{ID: string(id), Name: name}
			s.m[r.ID] = r
		}
		s.mu.Unlock()

		if err, retry := r.join(c, a); !retry {
			return err
		}
	}
}

// join adds c to r under r's lock; retry is set when r died meanwhile.
func (r *Room) join(c *Client, a Announcer) (err error, retry bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead {
		return nil, true
	}
	if !r.add(c) {
		return ErrRoomFull, false
	}
	c.room.Store(r)
	a.Joined(r, c, r.n == 1)
	return nil, false
}

// leave removes c from r under r's lock and reports whether r is now empty.
func (r *Room) leave(c *Client, a Announcer) (emptied bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.remove(c)
	c.room.Store(nil)
	if r.n > 0 {
		a.Left(r, c)
		return false
	}
	r.dead = true
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

// Leave takes c out of its room and returns that room, or nil when c was in
// none. The remaining members are announced; an emptied room is removed.
func (t *Rooms) Leave(c *Client, a Announcer) *Room {
	r := c.room.Load()
	if r == nil {
		return nil
	}
	if !r.leave(c, a) {
		return r
	}
	s := t.shardOf(r.ID)
	s.mu.Lock()
	if s.m[r.ID] == r {
		delete(s.m, r.ID)
	}
	s.mu.Unlock()
	t.count.Add(-1)
	return r
}
