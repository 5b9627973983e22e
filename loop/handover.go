package loop

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// In a cluster, a client whose node drains reconnects to another node and
// resumes there (docs/cluster.md, "Drain"). Its session is on the node it
// left: the new node's cluster asks that node for it (HandOver, there),
// holds it as a detached session of its own (AdoptSession), has the bucket
// seat it here, and then the client resumes it as it would a session that
// had always been here (ResumeHandedOver): the same checks, resumed, the
// replay.

// Handover refusals, as the client reads them in resume-failed.
var (
	errNoSession    = errors.New("no such session")
	errNotResumable = errors.New("the session is not resumable: its client never acked")
	errSeqAhead     = errors.New("lastSeq is ahead of the last event sent")
)

// handoverWait bounds how long the cluster waits for a loop to take or
// give a session.
const handoverWait = 5 * time.Second

// HandOver gives the session of client id, held here, to another node:
// `to` stands for it there, and takes its seat in its room here, so that
// what its room-mates send it from now on goes to the other node. A relay
// racing the handover, whose sender looked the client up a moment before,
// finds it in no room and is answered target-not-found. The old
// connection, if still open, is closed with 4001 as after any takeover.
func (s *Server) HandOver(id proto.ClientID, lastSeq uint64, to *registry.Client) (registry.Handover, error) {
	owner := s.clients.Get(id)
	if owner == nil {
		return registry.Handover{}, errNoSession
	}
	var h registry.Handover
	var old *conn
	why := errNoSession
	ok := s.rooms.HandOff(owner, to, func(r *registry.Room) bool {
		o, _ := owner.Sender.(*conn)
		if o == nil || &o.client != owner || r == nil {
			return false
		}
		ls := o.ls
		ls.mu.Lock()
		defer ls.mu.Unlock()
		sess := o.sess
		switch {
		case sess == nil:
			why = errNotResumable
			return false
		case sess.phase != sessionAttached && sess.phase != sessionDetached:
			return false
		case lastSeq > o.seq:
			why = errSeqAhead
			return false
		}
		sess.phase = sessionTakenOver
		h = registry.Handover{ID: id, Room: r.ID, Seq: o.seq, Base: sess.base}
		sess.each(sess.base, func(frame []byte) { h.Frames = append(h.Frames, append([]byte(nil), frame...)) })
		if sess.ret != nil {
			sess.ret.reset()
			sess.release(ls)
		}
		old = o
		return true
	})
	if !ok {
		return registry.Handover{}, why
	}
	s.clients.Remove(owner)
	count(&old.ls.m.resumes)
	_ = old.ls.el.Execute(context.Background(), takenOverClose{old})
	return h, nil
}

// AdoptSession makes h a detached session of this node, on the loop of
// via (the connection that asked to resume it), and returns its client,
// for the cluster to seat. It ends, as any detached session, after
// --resume-grace if nobody resumes it.
func (s *Server) AdoptSession(via *registry.Client, h registry.Handover) (*registry.Client, error) {
	c, ok := via.Sender.(*conn)
	if !ok {
		return nil, errors.New("adopting a session: not a connection of this server")
	}
	var owner *conn
	var err error
	if werr := c.onLoop(func(c *conn) { owner, err = c.ls.adopt(h) }); werr != nil {
		return nil, werr
	}
	if err != nil {
		return nil, err
	}
	return &owner.client, nil
}

// adopt builds the detached connection that holds h until its client
// resumes it. Run on ls's loop.
func (ls *loopState) adopt(h registry.Handover) (*conn, error) {
	s := ls.srv
	owner := &conn{ls: ls, state: stateClosed, idx: -1, seq: h.Seq}
	owner.client.ID = h.ID
	owner.client.Sender = owner
	sess := &session{base: h.Base, phase: sessionDetached, expires: s.now() + int64(s.cfg.ResumeGrace)}
	owner.sess = sess
	if err := s.clients.Add(&owner.client); err != nil {
		return nil, fmt.Errorf("adopting a session: %w", err)
	}
	ls.mu.Lock()
	if len(h.Frames) > 0 {
		sess.ret = ls.takeRetained()
		for _, f := range h.Frames {
			sess.ret.add(f)
		}
	}
	ls.detached = append(ls.detached, owner)
	ls.detachedCount.Store(int64(len(ls.detached)))
	ls.mu.Unlock()
	return owner, nil
}

// ResumeHandedOver resumes, on via's connection, the session handed over
// to this node that owner holds, as resume does once the token is checked.
func (s *Server) ResumeHandedOver(via, owner *registry.Client, lastSeq uint64) error {
	c, ok := via.Sender.(*conn)
	if !ok {
		return errors.New("resuming a session: not a connection of this server")
	}
	return c.onLoop(func(c *conn) {
		if c.state == stateOpen {
			c.resumeFrom(owner, lastSeq)
		}
	})
}

// ResumeFailed tells via its resume failed, and why.
func (s *Server) ResumeFailed(via *registry.Client, why string) {
	if c, ok := via.Sender.(*conn); ok {
		_ = c.onLoop(func(c *conn) {
			if c.state == stateOpen {
				c.resumeFailed(resumeRefusal{reason: resumeNoSession, why: why})
			}
		})
	}
}

// onLoop runs do on c's loop, as a handler, and waits for it.
func (c *conn) onLoop(do func(*conn)) error {
	done := make(chan struct{})
	err := c.ls.el.Execute(context.Background(), onConn{c: c, do: func(c *conn) {
		defer close(done)
		do(c)
	}})
	if err != nil {
		return fmt.Errorf("the event loop is gone: %w", err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(handoverWait):
		return errors.New("the event loop did not answer in time")
	}
}
