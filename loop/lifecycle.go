package loop

import (
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// A connection's life, every step of it on its own event loop:
//
//	handshaking ──upgraded──▶ open
//	     │                      │
//	     └──────close(code, reason)──────▶ closing ──its last bytes handed to gnet──┐
//	                                          │                                     ▼
//	         nothing left to write: gc.Close  │              draining ──gnet wrote them──▶ lingering
//	                                          ▼                 │ closeGrace                │ the client's FIN,
//	                                        closed ◀────────────┴───────────────────────────┘ or lingerTime
//
// A resumable session (session.go) can outlive its connection: when the
// client went away, timed out or sent a close other than 1000, close and
// closed detach the session instead of retiring the client, and a resume
// on another connection may take it over.
//
// Whatever ends a connection — the client's close frame, a protocol
// violation, an idle or join timeout, the rate kick, a slow consumer, a
// panic, server-full, an HTTP error, shutdown — goes through close, the one
// place that starts an end. From any state, gnet closing the socket (the
// client went away, a write failed, or the server closed it) makes it closed.
//
// A close is not abrupt. The close frame (or HTTP reply) goes out after what
// was queued before it, and the socket is closed only once gnet has written
// it all: closing with bytes in gnet's buffer would throw them away, and the
// client would see its connection cut (1006 in a browser) instead of the
// code that says why. Once written, the socket is shut for writing, not
// closed, while what the client still sends is read and discarded, until the
// client closes its side: closing a socket with unread input makes the
// kernel answer with a reset, and a client that gets a reset may drop what it
// had received but not read, the close frame included. A client that sends
// too much (1009) or too fast (1008) is exactly one with input in flight.

// state is where a connection is in its life.
type state uint8

const (
	// stateHandshaking: reading the HTTP upgrade request.
	stateHandshaking state = iota
	// stateOpen: upgraded; frames flow both ways.
	stateOpen
	// stateClosing: a close is decided and its last bytes are queued; input
	// is discarded and nothing more is queued.
	stateClosing
	// stateDraining: the last bytes are in gnet, which is still writing
	// them to a client behind on reading.
	stateDraining
	// stateLingering: everything is written and the socket shut for
	// writing; waiting for the client to close its side.
	stateLingering
	// stateClosed: the socket is closed.
	stateClosed
)

var stateNames = [...]string{"handshaking", "open", "closing", "draining", "lingering", "closed"}

func (s state) String() string { return stateNames[s] }

// closeGrace bounds how long a closing connection may take to read what is
// left for it; a client that stopped reading is closed anyway after it.
const closeGrace = 5 * time.Second

// lingerTime bounds how long a connection whose last bytes are written waits
// for the client to close its side.
const lingerTime = 2 * time.Second

// moveTo makes to c's state. Call on c's loop with ls.mu held.
func (c *conn) moveTo(to state) {
	from := c.state
	c.state = to
	if hook := c.ls.srv.hooks.transition; hook != nil {
		hook(c, from, to)
	}
}

// moveToLocked is moveTo for a caller not holding ls.mu.
func (c *conn) moveToLocked(to state) {
	c.ls.mu.Lock()
	c.moveTo(to)
	c.ls.mu.Unlock()
}

// upgraded makes a connection whose 101 response is queued open.
func (c *conn) upgraded() {
	c.moveToLocked(stateOpen)
	c.lastSeen = c.ls.srv.now()
}

// close ends the connection, whatever ends it: an open one gets a close
// frame with code and reason after what is already queued for it (a slow
// consumer's backlog is discarded instead: it is what made the server give
// up), and leaves its room and the client table at once, so that its room
// hears of it and its seat is free; one still in its upgrade gets what is
// queued for it (an HTTP reply) and nothing more. Closing a connection
// already closing does nothing. It runs on c's loop, outside any room lock.
func (c *conn) close(code ws.StatusCode, reason string) {
	if c.state >= stateClosing {
		return
	}
	ls := c.ls
	was := c.state
	c.countClose(code, reason)
	var frame []byte
	if was == stateOpen {
		frame = ls.closeFrame(code, reason)
	}
	c.rareState().closeCode = code
	ls.mu.Lock()
	if c.outbox&outboxSlow != 0 {
		ls.recycle(c.out)
		c.out = nil
		c.outbox &^= outboxSlow
	}
	if frame != nil {
		c.appendOut(frame)
	}
	last := c.outbox&outboxQueued != 0
	c.moveTo(stateClosing)
	kept := was == stateOpen && c.outlives(false)
	ls.mu.Unlock()
	if was == stateOpen && !kept {
		ls.retire(c)
	}
	if !last && c.gc.OutboundBuffered() == 0 {
		// Nothing to write: a connection timed out or stopped during its
		// upgrade, which it never finished sending.
		_ = c.gc.Close()
	}
}

// refuse queues reply, an HTTP response to a request that is not upgraded,
// and closes the connection once it is written.
func (c *conn) refuse(reply []byte) {
	c.Send(reply)
	c.close(0, "not upgraded")
}

// closeAfterPanic logs a panic recovered while serving c and closes c with
// 1011; input it had buffered is dropped with it.
func (c *conn) closeAfterPanic(v any, what string) {
	c.ls.srv.logPanic(v, clientIDText(c), what)
	c.close(ws.StatusInternalServerError, "internal error")
	if c.state == stateClosed {
		return
	}
	if n := c.gc.InboundBuffered(); n > 0 {
		_, _ = c.gc.Discard(n)
	}
}

// lastBytesWritten follows the write of the batch that held a closing
// connection's last bytes: it drains if gnet still holds some, and lingers
// if not.
func (c *conn) lastBytesWritten(now int64) {
	if c.gc.OutboundBuffered() == 0 {
		c.linger(now)
		return
	}
	c.moveToLocked(stateDraining)
	c.rare.endBy = now + int64(c.ls.srv.hooks.closeGrace)
	c.ls.addEnding(c)
}

// linger shuts c for writing, its last bytes written, and leaves it open for
// at most lingerTime for the client to close its side. When the client does,
// gnet reads the end of the stream and closes the connection itself.
func (c *conn) linger(now int64) {
	if err := unix.Shutdown(c.gc.Fd(), unix.SHUT_WR); err != nil {
		_ = c.gc.Close() // the client is gone already
		return
	}
	if c.state != stateDraining {
		c.ls.addEnding(c)
	}
	c.moveToLocked(stateLingering)
	c.rare.endBy = now + int64(lingerTime)
}

// closed is the end: gnet has closed the socket. A client that went away
// while open leaves its room and the client table here; its pending bytes
// are dropped.
func (c *conn) closed() {
	ls := c.ls
	ls.mu.Lock()
	was := c.state
	c.moveTo(stateClosed)
	ls.recycle(c.out)
	c.out = nil
	ls.queued -= int64(c.held)
	c.held = 0
	ls.m.queuedBytes.Store(ls.queued)
	kept := was == stateOpen && c.outlives(true)
	ls.mu.Unlock()
	c.logClosed()
	ls.remove(c)
	if was == stateOpen && !kept {
		ls.retire(c)
	}
}

// remove takes a closed c off the loop's list of connections.
func (ls *loopState) remove(c *conn) {
	last := ls.conns[len(ls.conns)-1]
	ls.opened.moved(last.idx, c.idx)
	ls.conns[c.idx] = last
	last.idx = c.idx
	ls.conns[len(ls.conns)-1] = nil
	ls.conns = ls.conns[:len(ls.conns)-1]
}

// retire takes a client out of its room and the client table.
func (ls *loopState) retire(c *conn) {
	s := ls.srv
	defer s.recoverLoop("retiring a closing client")
	// Deferred, so that a panic announcing the departure cannot keep the
	// client's seat taken.
	defer s.clients.Remove(&c.client)
	cl := s.cfg.Cluster
	if cl != nil {
		// A join still asked for is given up first: seated after Leave
		// looked, the client would keep its seat for good.
		cl.Left(&c.client, "")
	}
	r := s.rooms.Leave(&c.client, ls)
	if cl != nil && r != nil {
		cl.Left(&c.client, r.ID)
	}
}

// sweepEnding moves the draining connections that are written out to
// lingering, and closes those draining or lingering past their time. It runs
// on every tick.
func (ls *loopState) sweepEnding(now int64) {
	kept := ls.ending[:0]
	for _, c := range ls.ending {
		switch {
		case c.state == stateClosed:
		case now >= c.rare.endBy:
			_ = c.gc.Close()
		case c.state == stateDraining && c.gc.OutboundBuffered() == 0:
			c.linger(now)
			if c.state == stateLingering {
				kept = append(kept, c)
			}
		default:
			kept = append(kept, c)
		}
	}
	clear(ls.ending[len(kept):])
	ls.ending = kept
	ls.endingCount.Store(int64(len(kept)))
}

// addEnding puts c on the loop's list of draining and lingering connections.
func (ls *loopState) addEnding(c *conn) {
	ls.ending = append(ls.ending, c)
	ls.endingCount.Store(int64(len(ls.ending)))
}

// clientIDText is c's client id for logs, once it has one.
func clientIDText(c *conn) string {
	if c.state == stateHandshaking {
		return ""
	}
	return c.client.ID.String()
}
