package loop

import (
	"context"
	"crypto/rand"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// statusTakenOver closes a connection whose session a resume on another
// connection took over (docs/protocol.md, close codes).
const statusTakenOver ws.StatusCode = 4001

// newResumeKey draws the server's resume secret.
func newResumeKey() *proto.ResumeKey {
	var secret [32]byte
	_, _ = rand.Read(secret[:]) // never fails (crypto/rand, Go 1.24)
	return proto.NewResumeKey(secret[:])
}

// sendClientID sends client-id, with the session's resume token when resume
// is on; it carries no seq.
func (c *conn) sendClientID(id proto.ClientID) {
	ls := c.ls
	if ls.srv.cfg.ResumeGrace <= 0 {
		c.sendUnsequenced(ls.finish(proto.AppendClientID(ls.begin(), id), ws.OpText))
		return
	}
	c.sendUnsequenced(ls.finish(proto.AppendClientIDToken(ls.begin(), id, ls.srv.resumeKey.Token(id)), ws.OpText))
}

// resumeFailed answers a resume that cannot be had; the connection carries
// on as the fresh client it was.
func (c *conn) resumeFailed(r resumeRefusal) {
	count(&c.ls.m.resumeFailures[r.reason])
	c.sendError(proto.Problem{Code: proto.CodeResumeFailed, Message: r.why, Event: proto.EventResume})
}

// resume takes over the session m names, held by an open connection or
// detached, on this loop or another: this connection gives up its fresh id
// and becomes that client, in its room, with its seq; it gets resumed and
// then every retained event after m.LastSeq, in order; the old connection,
// if still open, is closed with statusTakenOver.
func (c *conn) resume(m *proto.Message) {
	s := c.ls.srv
	switch {
	case s.cfg.ResumeGrace <= 0:
		c.resumeFailed(refusedResumeOff)
		return
	case c.inRoom() || c.sess != nil:
		c.resumeFailed(refusedResumeOutOfOrder)
		return
	case !s.resumeKey.Verify(m.ClientID, m.ResumeToken):
		// The same answer as for a session that has ended: a wrong token
		// tells nothing about which sessions exist.
		c.resumeFailed(refusedResumeNoSession)
		return
	}
	owner := s.clients.Get(m.ClientID)
	if owner == nil {
		c.resumeFailed(refusedResumeNoSession)
		return
	}
	var old *conn
	var refusal *resumeRefusal
	ok := s.rooms.Takeover(owner, &c.client, func(r *registry.Room) bool {
		old, refusal = c.takeOver(owner, r, m.LastSeq)
		return refusal == nil
	})
	if !ok {
		c.resumeFailed(*refusal)
		return
	}
	count(&c.ls.m.resumes)
	c.roomlessSince = s.uptimeSeconds()
	if old.ls == c.ls {
		old.close(statusTakenOver, "session taken over")
	} else {
		// Another loop's connection is closed on its loop; if the engine
		// is stopping, goodbye closes it anyway.
		_ = old.ls.el.Execute(context.Background(), takenOverClose{old})
	}
}

// takeOver is the commit of a resume, run with the session's room locked:
// it checks that owner's connection still holds a session that can be
// resumed from lastSeq, then moves the session to c and queues resumed and
// the replay for c. It returns the connection taken from, or why not.
func (c *conn) takeOver(owner *registry.Client, r *registry.Room, lastSeq uint64) (*conn, *resumeRefusal) {
	old, _ := owner.Sender.(*conn)
	if old == nil || &old.client != owner || old == c || owner.Room() != r {
		// Another resume took it a moment ago.
		return nil, &refusedResumeRaced
	}
	ls := c.ls
	unlock := lockPair(old.ls, ls)
	sess := old.sess
	switch {
	case sess == nil:
		unlock()
		return nil, &refusedResumeNoAck
	case sess.phase != sessionAttached && sess.phase != sessionDetached:
		unlock()
		return nil, &refusedResumeNoSession
	case lastSeq > old.seq:
		unlock()
		return nil, &refusedResumeSeqAhead
	}
	sess.phase = sessionTakenOver
	moved := &session{base: sess.base, ret: sess.ret}
	sess.ret = nil
	c.sess, c.seq = moved, old.seq
	var missed, dropped uint64
	if lastSeq < moved.base {
		dropped = moved.base - lastSeq
	}
	missed = c.seq - max(lastSeq, moved.base)
	var roomID string
	var ids []proto.ClientID
	if r != nil {
		roomID, ids = r.ID, ls.memberIDs(r)
	}
	c.appendOut(ls.finish(proto.AppendResumed(ls.begin(), owner.ID, roomID, ids, missed, dropped), ws.OpText))
	moved.each(lastSeq, func(frame []byte) {
		c.out.b = append(c.out.b, frame...)
		count(&ls.m.replayed)
	})
	moved.trim(ls, lastSeq)
	unlock()
	s := ls.srv
	s.clients.Adopt(&c.client, owner)
	c.client.Sender = c
	if r != nil {
		owner.Sender = c
	}
	return old, nil
}

// lockPair locks two loops' outbox locks, once when they are one. Lock
// order between two loops: the lower address first, so that two takeovers
// crossing between the same loops cannot deadlock. It returns the unlock.
func lockPair(a, b *loopState) (unlock func()) {
	if a == b {
		a.mu.Lock()
		return a.mu.Unlock
	}
	if uintptrOf(a) > uintptrOf(b) {
		a, b = b, a
	}
	a.mu.Lock()
	b.mu.Lock()
	return func() {
		b.mu.Unlock()
		a.mu.Unlock()
	}
}

// takenOverClose closes, on its own loop, a connection whose session was
// taken over from another loop. It implements gnet.Runnable.
type takenOverClose struct{ c *conn }

func (t takenOverClose) Run(context.Context) error {
	ls := t.c.ls
	ls.enter()
	defer ls.exit()
	defer t.c.recoverPanic("closing a connection taken over")
	t.c.close(statusTakenOver, "session taken over")
	return nil
}
