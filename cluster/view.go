package cluster

import (
	"sync"
	"time"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// view is what this node has seen of every room in the bucket, its own or
// not: to skip a list older than one applied, to find the rooms of a lost
// node, and the node of a member. The applier writes it; others read it.
type view struct {
	mu    sync.Mutex
	rooms map[string]viewRoom
}

type viewRoom struct {
	rev     uint64
	members []member
	// deleted is when the room left the bucket: its revision is kept a
	// while, so that a list older than the deletion, still queued, is not
	// taken for a new room.
	deleted time.Time
}

func (v *view) init() { v.rooms = make(map[string]viewRoom) }

// set records u and reports whether it is newer than what was seen.
func (v *view) set(u update) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.rooms[u.room]; ok && u.rev != 0 && u.rev <= old.rev {
		return false
	}
	if len(u.value.Members) == 0 {
		v.rooms[u.room] = viewRoom{rev: u.rev, deleted: time.Now()}
		return true
	}
	v.rooms[u.room] = viewRoom{rev: u.rev, members: u.value.Members}
	return true
}

// prune forgets the rooms deleted before deadline.
func (v *view) prune(deadline time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for id, r := range v.rooms {
		if !r.deleted.IsZero() && r.deleted.Before(deadline) {
			delete(v.rooms, id)
		}
	}
}

func (v *view) reset() {
	v.mu.Lock()
	defer v.mu.Unlock()
	clear(v.rooms)
}

// roomsOf returns the rooms with a member on node.
func (v *view) roomsOf(node string) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var rooms []string
	for id, r := range v.rooms {
		for _, m := range r.members {
			if m.Node == node {
				rooms = append(rooms, id)
				break
			}
		}
	}
	return rooms
}

// nodeOf returns the node the bucket seats id on, or "".
func (v *view) nodeOf(id proto.ClientID) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, r := range v.rooms {
		for _, m := range r.members {
			if m.ID == id {
				return m.Node
			}
		}
	}
	return ""
}

// proxyShards spreads the table of proxies over locks, as registry's
// tables do: every relay to a member on another node looks one up.
const proxyShards = 16

// proxyTable holds the Clients standing for members of other nodes in
// this node's rooms. The applier adds and removes them; loops look them up.
type proxyTable struct {
	shards [proxyShards]struct {
		mu sync.RWMutex
		m  map[proto.ClientID]*registry.Client
	}
}

func (t *proxyTable) init() {
	for i := range t.shards {
		t.shards[i].m = make(map[proto.ClientID]*registry.Client)
	}
}

func (t *proxyTable) shard(id proto.ClientID) int { return int(id[0] % proxyShards) }

func (t *proxyTable) get(id proto.ClientID) *registry.Client {
	s := &t.shards[t.shard(id)]
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[id]
}

// ensure returns the proxy of id, on node, making it when needed; a member
// that moved to another node (a resume there) is sent to there from now on.
func (t *proxyTable) ensure(n *Node, id proto.ClientID, node string) *registry.Client {
	s := &t.shards[t.shard(id)]
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.m[id]; c != nil {
		c.Sender.(*remoteSender).moveTo(n.outboxes.of(node))
		return c
	}
	c := &registry.Client{ID: id}
	c.Sender = newRemoteSender(c, n.outboxes.of(node))
	s.m[id] = c
	return c
}

// release forgets the proxies among list that are in no room here.
func (t *proxyTable) release(list []registry.Listed) {
	for _, l := range list {
		if !l.Local {
			t.drop(l.Client)
		}
	}
}

func (t *proxyTable) releaseAll(cs []*registry.Client) {
	for _, c := range cs {
		t.drop(c)
	}
}

func (t *proxyTable) drop(c *registry.Client) {
	s := &t.shards[t.shard(c.ID)]
	s.mu.Lock()
	if s.m[c.ID] == c && c.Room() == nil {
		delete(s.m, c.ID)
	}
	s.mu.Unlock()
}

// keep puts c back in the table if the applier dropped it meanwhile: a
// stand-in a handover just seated must be found.
func (t *proxyTable) keep(c *registry.Client) {
	s := &t.shards[t.shard(c.ID)]
	s.mu.Lock()
	if s.m[c.ID] == nil {
		s.m[c.ID] = c
	}
	s.mu.Unlock()
}

// count is how many members of other nodes are in this node's rooms.
func (t *proxyTable) count() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
