package loop

import (
	"context"
	"sync"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/redrtc/redrtc/proto"
)

// Every write to a client goes through its loop's outbox: senders on any
// goroutine append to the client's pending bytes under loopState.mu, and the
// loop writes each pending client once, at the end of whatever it is doing.
// That gives three properties at once:
//   - one write syscall per client per batch, however many messages arrived
//     for it (relays, announcements, replies);
//   - messages reach a client in the order they were queued, so members see a
//     room's changes in the order the room's lock made them;
//   - no socket write happens inside a handler's critical section, so a write
//     error that makes gnet close a socket (and call OnClose) never re-enters
//     code holding a lock.
// A loop that is idle is woken with one task per batch, not one per message.

// maxPooledBuf is the largest pending buffer kept for reuse.
const maxPooledBuf = 64 << 10

// loopState is the per-event-loop state. The fields above mu are owned by the
// loop's goroutine.
type loopState struct {
	srv *Server
	el  gnet.EventLoop

	// conns lists the loop's open connections for the idle scan, which
	// resumes at scanNext.
	conns    []*conn
	scanNext int
	// enc is the frame being encoded; see begin and finish.
	enc []byte
	// hdr and hw serve ws.WriteHeaderBuffer; hr serves ws.ReadHeaderBuffer.
	hdr [16]byte
	hw  headerWriter
	hr  sliceReader
	// ids is scratch for a room's member ids.
	ids []proto.ClientID
	// batch holds the clients being written, with their bytes.
	batch []pending
	// expired collects conns the idle scan closes.
	expired []*conn
	// draining holds closing conns that gnet is still writing to, and
	// lingering those written out and shut for writing; see drain.go.
	draining  []*conn
	lingering []*conn
	// httpOut collects the upgrade response, through hio.
	httpOut []byte
	hio     handshakeIO

	mu sync.Mutex
	// depth counts the handlers running on the loop: the outermost one
	// writes the outbox when it ends; nested ones (OnClose called by gnet
	// from inside a write) leave it to the outermost.
	depth int
	// wakePending is set while a flush task is queued on the idle loop.
	wakePending bool
	inbox       []*conn
	free        [][]byte
}

// pending is one client's share of a batch, taken out of the outbox.
type pending struct {
	c     *conn
	buf   []byte
	close bool
	slow  bool
}

// maxFreeBufs bounds the loop's pool of pending buffers.
const maxFreeBufs = 64

// enqueue appends msg to c's pending bytes. Safe from any goroutine.
func (ls *loopState) enqueue(c *conn, msg []byte, closeAfter bool) {
	ls.mu.Lock()
	if c.gone || c.closeAfter || c.slow {
		ls.mu.Unlock()
		return
	}
	if !c.queued {
		c.queued = true
		ls.inbox = append(ls.inbox, c)
	}
	if len(c.out) > 0 && len(c.out)+len(msg) > ls.srv.cfg.MaxOutbound {
		// A client this far behind is not reading; the loop closes it
		// rather than let its queue grow the server's memory. The limit is
		// on what piles up behind a message: one message always goes, so
		// that a room-mate's largest offer cannot get a client dropped when
		// --max-outbound is close to the message limit.
		c.slow = true
		msg = nil
	}
	if c.out == nil {
		if n := len(ls.free); n > 0 {
			c.out = ls.free[n-1]
			ls.free = ls.free[:n-1]
		}
	}
	c.out = append(c.out, msg...)
	c.closeAfter = closeAfter
	wake := ls.depth == 0 && !ls.wakePending
	if wake {
		ls.wakePending = true
	}
	ls.mu.Unlock()
	if wake {
		// An error means the engine is shutting down and the loop gone.
		_ = ls.el.Execute(context.Background(), ls)
	}
}

// Run is the flush task queued on an idle loop; it implements gnet.Runnable.
func (ls *loopState) Run(context.Context) error {
	ls.mu.Lock()
	ls.wakePending = false
	ls.mu.Unlock()
	ls.enter()
	ls.exit()
	return nil
}

// enter marks the start of a handler on the loop.
func (ls *loopState) enter() {
	ls.mu.Lock()
	ls.depth++
	ls.mu.Unlock()
}

// exit ends a handler; the outermost one writes everything pending.
func (ls *loopState) exit() {
	for {
		ls.mu.Lock()
		if ls.depth > 1 || len(ls.inbox) == 0 {
			ls.depth--
			ls.mu.Unlock()
			return
		}
		for _, c := range ls.inbox {
			ls.batch = append(ls.batch, pending{c: c, buf: c.out, close: c.closeAfter, slow: c.slow})
			c.out = nil
			c.queued = false
		}
		clear(ls.inbox)
		ls.inbox = ls.inbox[:0]
		ls.mu.Unlock()

		ls.flush()

		ls.mu.Lock()
		for _, p := range ls.batch {
			ls.recycle(p.buf)
		}
		ls.mu.Unlock()
		clear(ls.batch)
		ls.batch = ls.batch[:0]
	}
}

// flush writes the batch, then closes whom it must.
func (ls *loopState) flush() {
	for i := range ls.batch {
		ls.write(&ls.batch[i])
	}
	maxOut := ls.srv.cfg.MaxOutbound
	for i := range ls.batch {
		ls.settle(&ls.batch[i], maxOut)
	}
}

// write writes what was queued for one connection.
func (ls *loopState) write(p *pending) {
	defer ls.recoverWrite(p.c)
	// gone is written only on this goroutine, so it is read here unlocked.
	if !p.c.gone && !p.slow {
		if ls.srv.cfg.beforeFlush != nil {
			ls.srv.cfg.beforeFlush(p.buf)
		}
		// A failed write makes gnet close the conn (calling OnClose).
		_, _ = p.c.gc.Write(p.buf)
	}
}

// settle closes a connection once written when its batch said so, or when
// it is too slow a reader.
func (ls *loopState) settle(p *pending, maxOut int) {
	defer ls.recoverWrite(p.c)
	switch {
	case p.c.gone:
	case p.close && !p.slow:
		// Its close frame is written or in gnet's buffer, and nothing may
		// follow it; a reader that stays behind is closed after the grace.
		ls.closeWhenWritten(p.c)
	case p.slow || p.c.gc.OutboundBuffered() > maxOut:
		ls.dropSlow(p.c)
	}
}

// recoverWrite confines a panic met while writing to one connection, a
// bug, to that connection, as recoverConn does for its messages: it is
// logged, what was queued for it is lost, and it is closed with 1011 (the
// close frame goes out in exit's next round); the rest of the batch is
// still written.
func (ls *loopState) recoverWrite(c *conn) {
	if v := recover(); v != nil {
		ls.srv.closeAfterPanic(c, v, "writing a client's queued messages")
	}
}

// recycle keeps b for reuse. Call with ls.mu held.
func (ls *loopState) recycle(b []byte) {
	if b != nil && cap(b) <= maxPooledBuf && len(ls.free) < maxFreeBufs {
		ls.free = append(ls.free, b[:0])
	}
}

// dropSlow closes a client that let more than --max-outbound bytes pile up:
// one stalled reader must not grow the server's memory. Its room hears of it
// through OnClose, like any disconnect.
func (ls *loopState) dropSlow(c *conn) {
	if c.rare != nil && c.rare.dropped {
		// Queued again between the batch that dropped it and gnet closing
		// it: its close frame went out already.
		return
	}
	c.rareState().dropped = true
	ls.mu.Lock()
	c.slow = true
	ls.recycle(c.out)
	c.out = nil
	ls.mu.Unlock()
	ls.srv.log.Debug().Str("client", c.client.ID.String()).
		Int("queued", c.gc.OutboundBuffered()).Msg("closing a client that does not read")
	c.phase = phaseClosing
	_, _ = c.gc.Write(ls.closeFrame(ws.StatusPolicyViolation, "not reading fast enough"))
	_ = c.gc.Close()
}

// forget drops c's pending bytes once the connection is closed.
func (ls *loopState) forget(c *conn) {
	ls.mu.Lock()
	c.gone = true
	ls.recycle(c.out)
	c.out = nil
	ls.mu.Unlock()
}
