package loop

import "time"

// A connection is closed only once gnet has written everything queued for
// it. A close frame (or an HTTP error) goes out with the rest of a client's
// bytes; when the client is behind on reading, part of them waits in gnet's
// outbound buffer, and closing the socket then would throw that part away:
// the client would see its connection cut (1006 in a browser) instead of the
// close code that says why.

// closeGrace bounds how long a closing connection may take to read what is
// left for it; a client that stopped reading is closed anyway after it.
const closeGrace = 5 * time.Second

// closeWhenWritten closes c now if nothing is left to write to it, and
// otherwise once it is written or the grace has passed, looked at on each
// tick by the idle scan. It runs on c's loop, with c's close frame written
// or queued in gnet.
func (ls *loopState) closeWhenWritten(c *conn) {
	if c.gc.OutboundBuffered() == 0 {
		_ = c.gc.Close() // queued behind this handler, so after the write
		return
	}
	c.rareState().drainBy = ls.srv.now() + int64(ls.srv.cfg.closeGrace)
	ls.draining = append(ls.draining, c)
	ls.srv.draining.Add(1)
}

// closeDrained closes the draining connections that are written out or out
// of time, and forgets those already closed.
func (ls *loopState) closeDrained(now int64) {
	kept := ls.draining[:0]
	for _, c := range ls.draining {
		switch {
		case c.gone:
			ls.srv.draining.Add(-1)
		case c.gc.OutboundBuffered() == 0 || now >= c.rare.drainBy:
			ls.srv.draining.Add(-1)
			_ = c.gc.Close()
		default:
			kept = append(kept, c)
		}
	}
	clear(ls.draining[len(kept):])
	ls.draining = kept
}
