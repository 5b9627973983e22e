package registry

import "sync"

// Room is a signaling room of at most RoomCapacity members.
type Room struct {
	ID string
	// Name is the room name as a JSON string token, quotes included, exactly
	// as its creator (its first member) sent it. It is set under mu when the
	// creator joins and never changes after; read it inside an Announcer
	// method, or after joining the room.
	Name string

	// mu guards the fields below. Announcements of a room's membership are
	// made with mu held, so every member sees the room's changes in one order.
	mu      sync.Mutex
	members [RoomCapacity]*Client
	n       int
	// dead marks a room that emptied and left the table; a joiner that looked
	// it up just before retries with a fresh one.
	dead bool
	// relayed counts the messages Deliver delivered (list.go).
	relayed uint64
	// created is when the room entered the table, in Unix nanoseconds.
	created int64
	// rev is the revision of the last list a cluster applied (apply.go).
	rev uint64
}

// Members returns the members in join order. Call it only from inside an
// Announcer method, while the room's lock is held.
func (r *Room) Members() []*Client { return r.members[:r.n] }

// Len returns the number of members.
func (r *Room) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Announcer tells a room's members about a change. It is called with the
// room's lock held, so it must only encode and Send.
type Announcer interface {
	Joined(r *Room, joiner *Client, created bool)
	Left(r *Room, leaver *Client)
}

// NodeAnnouncer is what a node of a cluster tells its members with: the
// lists the cluster applies, and members of other nodes leaving.
type NodeAnnouncer interface {
	Announcer
	ApplyAnnouncer
}

// hasLocal reports whether any member's socket is on this node; call with
// the room's lock held.
func (r *Room) hasLocal() bool {
	for _, c := range r.members[:r.n] {
		if !c.IsRemote() {
			return true
		}
	}
	return false
}

// die empties a room that has no member on this node left: the members of
// other nodes it held are in no room here. Call with the room's lock held.
func (r *Room) die() {
	for _, c := range r.members[:r.n] {
		c.room.CompareAndSwap(r, nil)
	}
	r.members = [RoomCapacity]*Client{}
	r.n = 0
	r.dead = true
}

func (r *Room) add(c *Client) bool {
	if r.n == RoomCapacity {
		return false
	}
	r.members[r.n] = c
	r.n++
	return true
}

func (r *Room) remove(c *Client) {
	for i := 0; i < r.n; i++ {
		if r.members[i] == c {
			copy(r.members[i:r.n], r.members[i+1:r.n])
			r.n--
			r.members[r.n] = nil
			return
		}
	}
}
