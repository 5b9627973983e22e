package registry

import (
	"slices"
	"strings"
	"time"
)

// RoomInfo is what a room holds at one moment, for operators: nothing in it
// is shared with the room.
type RoomInfo struct {
	ID string
	// Name is the room's name as a JSON string token, quotes included.
	Name    string
	Created time.Time
	Members []*Client
	// Relayed counts the messages relayed between the room's members.
	Relayed uint64
}

// Info reads r under its lock.
func (r *Room) Info() RoomInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RoomInfo{
		ID: r.ID, Name: r.Name, Created: time.Unix(0, r.created),
		Members: slices.Clone(r.members[:r.n]), Relayed: r.relayed,
	}
}

// Get returns the room with this id, or nil.
func (t *Rooms) Get(id string) *Room {
	s := t.shardOf(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[id]
}

// Page returns at most limit rooms whose ids sort after after, in the order
// of their ids, and whether more follow. Paging by id rather than offset
// keeps a page's place while rooms open and close: a room that opens behind
// the cursor is missed, one that closes is skipped, and none is listed
// twice. It reads each shard under its lock, one at a time, and copies:
// O(rooms) a page, for operators, never on a client's path.
func (t *Rooms) Page(after string, limit int) (rooms []*Room, more bool) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for id, r := range s.m {
			if id > after {
				rooms = append(rooms, r)
			}
		}
		s.mu.Unlock()
	}
	slices.SortFunc(rooms, func(a, b *Room) int { return strings.Compare(a.ID, b.ID) })
	if len(rooms) > limit {
		return rooms[:limit], true
	}
	return rooms, false
}
