package loop

import (
	"slices"
	"testing"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
)

// detached is a server whose connections are not attached to sockets: frames
// are fed to the real parser and dispatcher, and what the server would write
// is read from the connections' outboxes. It serves the fuzz target and the
// relay benchmark, which need the parser without the network around it.
type detached struct {
	srv *Server
	ls  *loopState
}

func newDetached(tb testing.TB) *detached {
	tb.Helper()
	// No rate limit: nothing advances the clock here, so a limit would start
	// dropping after the first burst.
	s := newServer(Config{Rate: -1}.withDefaults(), testHooks{}.withDefaults())
	ls := &loopState{srv: s, enc: make([]byte, maxServerHeader, 4096)}
	// A handler is always running, so nothing tries to wake a gnet loop.
	ls.enter()
	return &detached{srv: s, ls: ls}
}

// conn returns an upgraded, registered connection.
func (d *detached) conn(tb testing.TB) *conn {
	tb.Helper()
	c := &conn{ls: d.ls, state: stateOpen}
	d.srv.admit(c)
	if c.state != stateOpen {
		tb.Fatal("not admitted")
	}
	d.takeOutput(c)
	return c
}

// takeOutput returns and clears what the server queued for c.
func (d *detached) takeOutput(c *conn) []byte {
	d.ls.mu.Lock()
	defer d.ls.mu.Unlock()
	if c.out == nil {
		return nil
	}
	out := c.out.b
	c.out.b = c.out.b[:0]
	return out
}

// recycleOutput drops what the server queued for c and returns the buffer to
// the loop's pool, as writing it out on a real loop does.
func (d *detached) recycleOutput(c *conn) {
	d.ls.mu.Lock()
	defer d.ls.mu.Unlock()
	d.ls.recycle(c.out)
	c.out = nil
	c.outbox &^= outboxQueued
	d.ls.inbox = slices.DeleteFunc(d.ls.inbox, func(q *conn) bool { return q == c })
}

func (d *detached) join(tb testing.TB, c *conn, room string) {
	tb.Helper()
	m := proto.Message{Event: proto.EventJoinRoom, RoomID: []byte(room)}
	c.join(&m)
}

// feed runs the frame parser over in as gnet would deliver it: bytes not
// consumed stay buffered and the next chunk is appended to them. It returns
// what is still buffered at the end.
func (d *detached) feed(c *conn, chunks ...[]byte) (buffered []byte) {
	for _, chunk := range chunks {
		buffered = append(buffered, chunk...)
		if c.state != stateOpen {
			return buffered
		}
		n := c.frames(buffered)
		if n < 0 || n > len(buffered) {
			panic("frames consumed a bad count")
		}
		buffered = buffered[n:]
	}
	return buffered
}

func maskedText(payload string) []byte {
	return frame(ws.OpText, true, []byte(payload))
}
