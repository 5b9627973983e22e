package main

import (
	"bytes"
)

// message handles one text message. Events are found by searching the
// bytes, not by parsing JSON: the floor trusts its clients.
func (s *server) message(cl *client, p []byte) {
	switch string(stringAfter(p, `{"event":"`)) {
	case "join-room":
		s.join(cl, string(stringAfter(p, `"roomId":"`)))
	case "leave-room":
		s.mu.Lock()
		s.leaveLocked(cl)
		s.mu.Unlock()
		s.write(cl, `{"event":"room-left","data":{}}`)
	case "ping":
		s.write(cl, `{"event":"pong","data":{}}`)
	default:
		s.relay(cl, p)
	}
}

// stringAfter returns the bytes between key and the next quote.
func stringAfter(p []byte, key string) []byte {
	i := bytes.Index(p, []byte(key))
	if i < 0 {
		return nil
	}
	rest := p[i+len(key):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return nil
}

// write sends one text frame to cl from its own loop.
func (s *server) write(cl *client, parts ...string) {
	bp := s.bufs.Get().(*[]byte)
	b := appendText((*bp)[:0], parts...)
	_, _ = cl.c.Write(b)
	*bp = b
	s.bufs.Put(bp)
}

func (s *server) join(cl *client, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[name]; r != nil && r.n == len(r.members) && cl.room != r {
		s.write(cl, `{"event":"error","data":{"code":"room-full","message":"room is full","event":"join-room"}}`)
		return
	}
	s.leaveLocked(cl)
	r := s.rooms[name] // leaving may have closed it
	if r == nil {
		r = &room{name: name}
		s.rooms[name] = r
	}
	r.members[r.n] = cl
	r.n++
	cl.room = r
	s.write(cl, `{"event":"room-joined","data":{"roomId":"`, name, `"}}`)
	s.participantsLocked(r)
}

// leaveLocked takes cl out of its room and tells the rest. s.mu is held.
func (s *server) leaveLocked(cl *client) {
	r := cl.room
	if r == nil {
		return
	}
	cl.room = nil
	for i, m := range r.members[:r.n] {
		if m == cl {
			copy(r.members[i:], r.members[i+1:r.n])
			r.n--
			r.members[r.n] = nil
			break
		}
	}
	if r.n == 0 {
		delete(s.rooms, r.name)
		return
	}
	s.participantsLocked(r)
}

// participantsLocked sends the member list to every member through
// AsyncWrite, even on the sender's own loop: sent under s.mu, the lists then
// reach each member in the order the room changed. s.mu is held.
func (s *server) participantsLocked(r *room) {
	var b []byte
	b = append(b, `{"event":"participants","data":{"roomId":"`...)
	b = append(b, r.name...)
	b = append(b, `","participants":[`...)
	for i, m := range r.members[:r.n] {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, m.id[:]...)
		b = append(b, '"')
	}
	b = append(b, "]}}"...)
	f := appendText(nil, string(b))
	for _, m := range r.members[:r.n] {
		_ = m.c.AsyncWrite(f, nil)
	}
}

var dataKey = []byte(`"data":{`)

// relay forwards an offer, answer or ice-candidate to its target in the
// sender's room, with "fromClientId" put first in its data: written
// directly when the target is on the sender's loop, through AsyncWrite (of
// a copy) otherwise. A sender's messages to one target thus always take the
// same path, and stay in order.
func (s *server) relay(cl *client, p []byte) {
	target := stringAfter(p, `"targetClientId":"`)
	i := bytes.Index(p, dataKey)
	if len(target) == 0 || i < 0 {
		return
	}
	i += len(dataKey)
	s.mu.Lock()
	var to *client
	if r := cl.room; r != nil {
		for _, m := range r.members[:r.n] {
			if string(m.id[:]) == string(target) {
				to = m
			}
		}
	}
	s.mu.Unlock()
	if to == nil {
		return
	}
	bp := s.bufs.Get().(*[]byte)
	const from = `"fromClientId":"`
	b := appendHeader((*bp)[:0], len(p)+len(from)+len(cl.id)+2)
	b = append(b, p[:i]...)
	b = append(b, from...)
	b = append(b, cl.id[:]...)
	b = append(b, `",`...)
	b = append(b, p[i:]...)
	if to.el == cl.el {
		_, _ = to.c.Write(b)
	} else {
		_ = to.c.AsyncWrite(bytes.Clone(b), nil)
	}
	*bp = b
	s.bufs.Put(bp)
}
