package loop

import (
	"time"

	"golang.org/x/sys/unix"
)

// A connection is closed only once gnet has written everything queued for
// it. A close frame (or an HTTP error) goes out with the rest of a client's
// bytes; when the client is behind on reading, part of them waits in gnet's
// outbound buffer, and closing the socket then would throw that part away:
// the client would see its connection cut (1006 in a browser) instead of the
// close code that says why.
//
// Once written, the connection is not closed outright either, but shut for
// writing (the client reads the close frame, then the end of the stream)
// while whatever the client still sends is read and thrown away, until the
// client closes its side or lingerTime passes. Closing a socket with unread
// input makes the kernel answer with a reset instead of a FIN, and a client
// that gets a reset may drop what it had received but not yet read, close
// frame included: a client cut off for sending too much (1009) or too fast
// (1008) is exactly one with input still arriving.

// closeGrace bounds how long a closing connection may take to read what is
// left for it; a client that stopped reading is closed anyway after it.
const closeGrace = 5 * time.Second

// lingerTime bounds how long a connection whose last bytes are written waits
// for the client to close its side.
const lingerTime = 2 * time.Second

// closeWhenWritten takes c out of its room and the client table at once, and
// closes the socket once everything queued for it is written (see linger) or
// the grace has passed; both are looked at on each tick by the idle scan. It
// runs on c's loop, with c's close frame written or queued in gnet.
func (ls *loopState) closeWhenWritten(c *conn) {
	ls.retire(c)
	now := ls.srv.now()
	if c.gc.OutboundBuffered() == 0 {
		ls.linger(c, now)
		return
	}
	c.rareState().drainBy = now + int64(ls.srv.cfg.closeGrace)
	ls.draining = append(ls.draining, c)
	ls.srv.closing.Add(1)
}

// retire takes a client out of its room and the client table. A client the
// server closes is retired as soon as its last bytes are on their way, so
// that its room hears of the departure, and its seat under --clients is
// free, without waiting for the socket to close; OnClose retires the rest.
func (ls *loopState) retire(c *conn) {
	if !c.registered {
		return
	}
	c.registered = false
	s := ls.srv
	defer s.recoverLoop("retiring a closing client")
	// Deferred, so that a panic announcing the departure cannot keep the
	// client's seat taken.
	defer s.clients.Remove(&c.client)
	s.rooms.Leave(&c.client, ls)
}

// linger shuts c for writing, its last bytes written, and leaves it open
// for at most lingerTime for the client to close its side; input meanwhile
// is discarded (phaseClosing). When the client closes, gnet reads the end of
// the stream and closes the connection itself. Stop waits for lingering
// connections too: closing one early would reset it, and lose the close
// frame for a client still sending.
func (ls *loopState) linger(c *conn, now int64) {
	if err := unix.Shutdown(c.gc.Fd(), unix.SHUT_WR); err != nil {
		_ = c.gc.Close() // the client is gone already
		return
	}
	c.rareState().drainBy = now + int64(lingerTime)
	ls.lingering = append(ls.lingering, c)
	ls.srv.closing.Add(1)
}

// closeDrained moves the draining connections that are written out to
// lingering, closes those out of time, and forgets those already closed.
func (ls *loopState) closeDrained(now int64) {
	ls.draining = ls.sweep(ls.draining, now, true)
	ls.lingering = ls.sweep(ls.lingering, now, false)
}

// sweep returns the connections of list still waiting, in its array: it
// forgets those gone, closes those out of time and, with lingerWritten,
// moves those written out to lingering. Each that leaves list stops
// counting in srv.closing (linger counts it again).
func (ls *loopState) sweep(list []*conn, now int64, lingerWritten bool) []*conn {
	kept := list[:0]
	for _, c := range list {
		switch {
		case c.gone:
			ls.srv.closing.Add(-1)
		case now >= c.rare.drainBy:
			ls.srv.closing.Add(-1)
			_ = c.gc.Close()
		case lingerWritten && c.gc.OutboundBuffered() == 0:
			ls.srv.closing.Add(-1)
			ls.linger(c, now)
		default:
			kept = append(kept, c)
		}
	}
	clear(list[len(kept):])
	return kept
}
