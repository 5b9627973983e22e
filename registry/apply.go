package registry

import "time"

// A cluster of nodes (package cluster) decides a room's members in its
// shared store and tells each node the whole list, numbered by a revision
// that grows with every change. Apply makes this node's copy of the room
// match such a list. Members whose sockets are on this node are the node's
// own to add and remove: a list can seat one only when it asked to join
// (claim), and never removes one (the node removes its members itself, by
// Leave, when they go); every other member is a proxy Client whose Sender
// forwards to its node.

// Listed is one member of a cluster's list: the Client that stands for it
// here, and whether its socket is on this node.
type Listed struct {
	Client *Client
	Local  bool
}

// ApplyAnnouncer tells a node's own members about a list applied to their
// room: joiners get their room-joined (room-created first when the room was
// empty), and every local member one participants. It is called with the
// room's lock held, so it must only encode and Send.
type ApplyAnnouncer interface {
	// created says the first joiner is the room's first member.
	Applied(r *Room, joiners []*Client, created bool)
}

// Applied is what Apply did, for the cluster to act on: local members the
// list left out that this node keeps (Missing: the store must have them
// back), local members the list holds that are not here or not in the room
// (Ghosts: the store must lose them), and local members that no longer fit
// because the store gave their seats away (Evicted: they are out of the room
// and must be told). Stale is set when the revision was not newer than the
// room's, and nothing was done.
type Applied struct {
	Stale                    bool
	Missing, Ghosts, Evicted []*Client
	// Removed are the members of other nodes the list no longer holds.
	Removed []*Client
}

// Claim is what a local member not yet in a room asked for.
type Claim uint8

const (
	// NotAsked: the client did not ask for this room; the list is wrong.
	NotAsked Claim = iota
	// Joining: it asked to join; it gets room-joined.
	Joining
	// Resuming: it is a session handed over from another node, seated
	// where it sat there; nobody is told, as nothing changed for them.
	Resuming
)

// Apply makes room id hold list, in its order, as of revision rev. claim is
// called, under the room's lock, for a local member not yet in the room: it
// says what that client asked for, and consumes the request. A room none of whose members is local leaves the table; a new
// room is created only for a claimed joiner, and past the table's limit
// only then: the cluster checks --rooms when the join is asked.
//
// A local joiner that is in another room must have left it before Apply
// (Rooms.Leave): a client is in one room at a time.
func (t *Rooms) Apply(id string, name string, rev uint64, list []Listed, claim func(*Client) Claim, a ApplyAnnouncer) Applied {
	for {
		r := t.Get(id)
		if r == nil {
			if !hasLocal(list) {
				return Applied{}
			}
			r = t.create(id)
		}
		res, retry := r.apply(name, rev, list, claim, a)
		if retry {
			continue
		}
		if res.emptied {
			t.unlink(r)
		}
		return res.Applied
	}
}

// create puts a new room in the table, or returns the one already there.
func (t *Rooms) create(id string) *Room {
	s := t.shardOf(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.m[id]; r != nil {
		return r
	}
	t.count.Add(1)
	r := &Room{ID: id, created: time.Now().UnixNano()}
	s.m[id] = r
	return r
}

type applyResult struct {
	Applied
	emptied bool
}

func (r *Room) apply(name string, rev uint64, list []Listed, claim func(*Client) Claim, a ApplyAnnouncer) (res applyResult, retry bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead {
		return res, true
	}
	if rev != 0 && rev <= r.rev {
		res.Stale = true
		return res, false
	}
	r.rev = rev
	var next [RoomCapacity]*Client
	n := 0
	var joiners []*Client
	for _, l := range list {
		c := l.Client
		if l.Local && c.room.Load() != r {
			switch claim(c) {
			case Joining:
				joiners = append(joiners, c)
			case Resuming:
			default:
				res.Ghosts = append(res.Ghosts, c)
				continue
			}
		}
		if n < RoomCapacity {
			next[n] = c
			n++
		}
	}
	// The node's own members the list left out stay, while seats remain.
	for _, c := range r.members[:r.n] {
		if isListed(list, c) || c.room.Load() != r {
			continue
		}
		if c.IsRemote() {
			continue
		}
		if n < RoomCapacity {
			next[n] = c
			n++
			res.Missing = append(res.Missing, c)
		} else {
			res.Evicted = append(res.Evicted, c)
		}
	}
	if name != "" {
		r.Name = name
	}
	same := n == r.n
	for i := 0; same && i < n; i++ {
		same = next[i].ID == r.members[i].ID
	}
	for _, c := range r.members[:r.n] {
		if !contains(next[:n], c) {
			c.room.CompareAndSwap(r, nil)
			if c.IsRemote() {
				res.Removed = append(res.Removed, c)
			}
		}
	}
	r.members = next
	r.n = n
	local := false
	for _, c := range r.members[:r.n] {
		c.room.Store(r)
		local = local || !c.IsRemote()
	}
	if !local {
		for _, c := range r.members[:r.n] {
			res.Removed = append(res.Removed, c)
		}
		r.die()
		res.emptied = true
		return res, false
	}
	if same && len(joiners) == 0 {
		return res, false // nothing for the members to hear
	}
	// A joiner first in the list found the room empty: it created it.
	a.Applied(r, joiners, len(joiners) > 0 && r.members[0] == joiners[0])
	return res, false
}

func isListed(list []Listed, c *Client) bool {
	for _, l := range list {
		if l.Client == c {
			return true
		}
	}
	return false
}

func hasLocal(list []Listed) bool {
	for _, l := range list {
		if l.Local {
			return true
		}
	}
	return false
}

func contains(cs []*Client, c *Client) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// DeliverIn sends msg, relayed from another node, to `to` if it is still a
// member of r.
func (r *Room) DeliverIn(to *Client, msg []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead || to.room.Load() != r {
		return false
	}
	to.Sender.Send(msg)
	r.relayed++
	return true
}

// ForgetRevisions makes every room take the next list it is given, whatever
// its revision: a cluster whose store restarted numbers its changes afresh.
func (t *Rooms) ForgetRevisions() {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		rooms := make([]*Room, 0, len(s.m))
		for _, r := range s.m {
			rooms = append(rooms, r)
		}
		s.mu.Unlock()
		for _, r := range rooms {
			r.mu.Lock()
			r.rev = 0
			r.mu.Unlock()
		}
	}
}

// IDs returns the ids of every room in the table.
func (t *Rooms) IDs() []string {
	var ids []string
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for id := range s.m {
			ids = append(ids, id)
		}
		s.mu.Unlock()
	}
	return ids
}
