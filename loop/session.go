package loop

import (
	"unsafe"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
)

// A session is a client as its room-mates know it: its id, its seat, the
// seq of the events sent to it and those it has not acknowledged yet. Until
// the client acks for the first time, a session is its connection and ends
// with it, as it always did. From its first ack on, the session is
// resumable (docs/protocol.md, "Resume"): it retains what it sends until it
// is acked, and when its socket drops without a goodbye it is detached, not
// ended: it keeps its seat and goes on retaining for --resume-grace, for a
// new connection to take it over with resume (resume.go).
//
// A session's fields are guarded by the loopState.mu of the connection that
// holds it; a takeover moves it from one connection to another holding both
// loops' locks (lockPair). Its phases:
//
//	attached ──socket dropped (EOF, reset, idle timeout, close ≠ 1000)──▶ detached
//	    │  ▲                                                                 │
//	    │  └────────────── resume (on any loop) ◀─────────────────────────────┤
//	    └── any other end (leave by 1000, kick, shutdown) ─▶ ended ◀── grace over
//
// and takenOver for the side a resume left: its connection ends without
// retiring the client, which lives on in the new one.
type session struct {
	// base is the seq up to which nothing is retained: acked, dropped from
	// a full buffer, or sent before the session became resumable. The
	// retained events are seq base+1 up to the connection's seq.
	base uint64
	// ret holds the retained frames; nil while everything is acked.
	ret *retained
	// expires is when a detached session ends, on the loop's clock.
	expires int64
	phase   sessionPhase
	// dropping is set by closeDropped: the close about to happen is a drop
	// the session survives.
	dropping bool
}

type sessionPhase uint8

const (
	sessionAttached sessionPhase = iota
	sessionDetached
	sessionEnded
	sessionTakenOver
)

// Retention bounds: beyond them the oldest frames are dropped, and a resume
// reports how many of those it asked for.
const (
	retainMessages = 64
	retainBytes    = 64 << 10
)

// ack handles ack {"seq"}: the client has every event up to seq. The first
// ack makes the session resumable; what was sent before it is not retained.
func (c *conn) ack(m *proto.Message) {
	ls := c.ls
	if ls.srv.cfg.ResumeGrace <= 0 {
		return // resume is off: nothing is retained, an ack changes nothing
	}
	ls.mu.Lock()
	if m.Seq > c.seq {
		ls.mu.Unlock()
		c.sendError(proto.Problem{Code: proto.CodeBadRequest, Message: "seq is ahead of the last event sent", Event: proto.EventAck})
		return
	}
	if c.sess == nil {
		c.sess = &session{base: c.seq}
	}
	c.sess.trim(ls, m.Seq)
	ls.mu.Unlock()
}

// closeDropped is close for an end the session survives when it is
// resumable: the idle timeout, or a close frame other than 1000.
func (c *conn) closeDropped(code ws.StatusCode, reason string) {
	if c.sess != nil {
		c.sess.dropping = true
	}
	c.close(code, reason)
}

// outlives decides, as c stops being open, whether its session outlives
// it: a resumable session in a room whose socket dropped is detached and
// kept for --resume-grace; one taken over lives on elsewhere. A client in
// no room has no seat to keep, and nobody who would be told it left: its
// session ends with the socket, so that the clients of a finished call
// cost nothing once they have gone. It reports whether c must not retire
// its client. Call on c's loop with ls.mu held.
func (c *conn) outlives(dropped bool) bool {
	s := c.sess
	if s == nil {
		return false
	}
	ls := c.ls
	switch s.phase {
	case sessionTakenOver:
		return true
	case sessionAttached:
		if (dropped || s.dropping) && c.inRoom() {
			s.phase = sessionDetached
			s.expires = ls.srv.now() + int64(ls.srv.cfg.ResumeGrace)
			ls.detached = append(ls.detached, c)
			return true
		}
		s.end(ls)
	}
	return false
}

// end ends the session and lets its buffer go. Call with ls.mu held.
func (s *session) end(ls *loopState) {
	s.phase = sessionEnded
	if r := s.ret; r != nil {
		r.reset()
		s.release(ls)
	}
}

// sweepDetached ends the detached sessions whose grace is over, as any
// disconnect ends: their room-mates get participants and their seats are
// free. With all set, it ends every detached session (shutdown). It runs
// on every tick.
func (ls *loopState) sweepDetached(now int64, all bool) {
	kept := ls.detached[:0]
	for _, c := range ls.detached {
		ls.mu.Lock()
		s := c.sess
		expired := s.phase == sessionDetached && (all || now >= s.expires)
		if expired {
			s.end(ls)
		}
		still := s.phase == sessionDetached
		ls.mu.Unlock()
		switch {
		case expired:
			ls.retire(c)
		case still:
			kept = append(kept, c)
		}
	}
	clear(ls.detached[len(kept):])
	ls.detached = kept
}

// uintptrOf is a loop state's address, for lockPair's order.
func uintptrOf(ls *loopState) uintptr { return uintptr(unsafe.Pointer(ls)) }

// takenOver reports whether s, which may be nil, was taken over by a
// resume. Call with ls.mu held.
func (s *session) takenOver() bool { return s != nil && s.phase == sessionTakenOver }

// staleSession reports whether a resume took c's session over: what its old
// socket still sends, until its 4001 goes out on its loop, is ignored, so
// that it cannot act for the client that lives on elsewhere.
func (c *conn) staleSession() bool {
	if c.sess == nil {
		return false
	}
	c.ls.mu.Lock()
	taken := c.sess.takenOver()
	c.ls.mu.Unlock()
	return taken
}
