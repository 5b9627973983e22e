package loop

import (
	"context"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// events receives gnet's callbacks for a Server, which keeps them out of its
// own API.
type events struct {
	gnet.BuiltinEventEngine
	srv *Server
}

// OnOpen sets up the connection's state; nothing is sent until the upgrade.
func (e *events) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := e.srv
	ls := s.loopFor(gc.EventLoop())
	c := &conn{gc: gc, ls: ls, lastSeen: s.now(), idx: int32(len(ls.conns))}
	ls.conns = append(ls.conns, c)
	gc.SetContext(c)
	count(&ls.m.accepted)
	return nil, gnet.None
}

// OnClose ends the connection's life: gnet has closed its socket.
func (e *events) OnClose(gc gnet.Conn, _ error) gnet.Action {
	c, ok := gc.Context().(*conn)
	if !ok {
		return gnet.None
	}
	ls := c.ls
	ls.enter()
	defer ls.exit()
	defer c.recoverPanic("closing a connection")
	c.closed()
	return gnet.None
}

// OnTraffic handles the bytes a connection has buffered: the upgrade request
// first, then every complete frame, consuming exactly what it handled.
func (e *events) OnTraffic(gc gnet.Conn) gnet.Action {
	c := gc.Context().(*conn)
	ls := c.ls
	ls.enter()
	defer ls.exit()
	defer c.recoverPanic("handling a client's message")

	n := gc.InboundBuffered()
	if n == 0 {
		return gnet.None
	}
	if c.state >= stateClosing {
		_, _ = gc.Discard(n) // whatever follows a close is ignored
		return gnet.None
	}
	if r := c.rare; r != nil && r.need > 0 {
		if n < r.need {
			return gnet.None // the large frame being received is still incomplete
		}
		r.need = 0
	}
	buf, err := gc.Peek(n)
	if err != nil {
		return gnet.None
	}
	s := e.srv
	consumed := 0
	if c.state == stateHandshaking {
		consumed = s.handshake(c, buf)
	}
	if c.state == stateOpen {
		consumed += c.frames(buf[consumed:])
	}
	if c.state >= stateClosing {
		consumed = n // whatever follows a close is ignored
	}
	if consumed > 0 { // Discard(0) would throw away a partial frame
		_, _ = gc.Discard(consumed)
	}
	return gnet.None
}

// OnTick advances the clock and asks each loop to look for idle connections.
func (e *events) OnTick() (time.Duration, gnet.Action) {
	s := e.srv
	s.clock.Store(s.started + int64(time.Since(s.base)))
	s.trimmer.tick(s.clients.Len(), s.rooms.Len(), s.retainedFreed.Swap(0))
	s.reportRefusals()
	s.loopsMu.Lock()
	for _, ls := range s.loops {
		_ = ls.el.Execute(context.Background(), idleScan{ls})
	}
	s.loopsMu.Unlock()
	return s.tickEvery, gnet.None
}

// recoverPanic confines a panic met while serving c, a bug, to c: it is
// logged and c is closed with 1011; the loop and every other client carry
// on. Deferred by each handler that acts on one connection.
func (c *conn) recoverPanic(what string) {
	if v := recover(); v != nil {
		c.closeAfterPanic(v, what)
	}
}
