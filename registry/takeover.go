package registry

// Takeover gives c the place of old, whose session c takes over: old's seat
// in its room (if any) and its entry in the client table, under old's id.
// commit decides, with the room's lock held (r is nil when old is in no
// room), whether the takeover happens and does the caller's part of it; it
// may take the senders' locks and call Adopt. On success the room holds c
// where it held old, and old still points at the room, so that a sender who
// looked old up just before delivers to its Sender, which commit points at
// c's. Lock order: the room's lock, then a client shard's (Adopt's).
func (t *Rooms) Takeover(old, c *Client, commit func(r *Room) bool) bool {
	return t.takeover(old, c, commit, false)
}

// HandOff is Takeover for a seat that moves to another node: old leaves the
// room with it, so that a sender who looked old up a moment before finds
// it in no room (target-not-found) rather than reaching a session that is
// gone.
func (t *Rooms) HandOff(old, c *Client, commit func(r *Room) bool) bool {
	return t.takeover(old, c, commit, true)
}

func (t *Rooms) takeover(old, c *Client, commit func(r *Room) bool, away bool) bool {
	for {
		r := old.room.Load()
		if r != nil {
			r.mu.Lock()
			if old.room.Load() != r {
				r.mu.Unlock()
				continue // old moved meanwhile
			}
		}
		ok := commit(r)
		if ok && r != nil {
			for i := range r.n {
				if r.members[i] == old {
					r.members[i] = c
				}
			}
			c.room.Store(r)
			if away {
				old.room.Store(nil)
			}
		}
		if r != nil {
			r.mu.Unlock()
		}
		return ok
	}
}

// Adopt moves c, in the table under its own id, to old's entry: c takes
// old's id and old's seat under the limit, and gives up its own. Call it
// from commit, with c in no room and old's room locked (when it has one).
func (t *Clients) Adopt(c, old *Client) {
	t.Remove(c)
	c.ID = old.ID
	s := t.shard(old.ID)
	s.mu.Lock()
	if s.m[old.ID] == old {
		s.m[old.ID] = c
	}
	s.mu.Unlock()
}
