package loop

import (
	"context"
	"sync"
	"sync/atomic"

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

	// conns lists the loop's connections, in every state but closed, for
	// the idle scan, which resumes at scanNext.
	conns    []*conn
	scanNext int
	// opened is when each of conns was admitted (connlog.go).
	opened connTimes
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
	// ending lists the draining and lingering connections, which each tick
	// sweeps (lifecycle.go); endingCount is its length, for Stop to wait on
	// from its own goroutine.
	ending      []*conn
	endingCount atomic.Int64
	// httpOut collects the upgrade response, through hio.
	httpOut []byte
	hio     handshakeIO
	// m are the loop's counters (metrics.go); relays counts its relays, for
	// sampling their time (metrics_relay.go).
	m      loopMetrics
	relays uint64
	// queued is the sum of the loop's conn.held.
	queued int64

	mu sync.Mutex
	// sampleAt is when a sampled relay queued here was decoded, or 0.
	sampleAt int64
	// busy counts the handlers running on the loop: the outermost one
	// writes the outbox when it ends; nested ones (OnClose called by gnet
	// from inside a write) leave it to the outermost. While it is above
	// zero, no sender needs to wake the loop.
	busy int
	// wakePending is set while a flush task is queued on the idle loop.
	wakePending bool
	inbox       []*conn
	free        []*outBuf
	// detached lists the loop's connections whose session outlives them,
	// until it is resumed or its grace ends (session.go). Owned by the
	// loop, appended to under mu.
	detached []*conn
	// detachedCount is len(detached), for a drain waiting for the
	// sessions to go (shutdown.go).
	detachedCount atomic.Int64
	// seqScratch is where a detached session's next frame is sequenced;
	// freeRetained keeps emptied retention buffers (retained.go).
	seqScratch   []byte
	freeRetained []*retained
}

// outBuf is a connection's queued bytes, pooled per loop.
type outBuf struct{ b []byte }

// pending is one client's share of a batch, taken out of the outbox: last
// is set when it ends with the connection's last bytes, slow when the
// client fell more than --max-outbound behind.
type pending struct {
	c    *conn
	buf  *outBuf
	last bool
	slow bool
}

// outboxFlags is a conn's standing in its loop's outbox.
type outboxFlags uint8

const (
	outboxQueued outboxFlags = 1 << iota // in ls.inbox
	outboxSlow                           // over --max-outbound: its backlog is dropped
)

// maxFreeBufs bounds the loop's pool of pending buffers.
const maxFreeBufs = 64

// enqueue appends msg to c's pending bytes, unless c is closing; sequenced
// text frames get the session's next seq (sequence.go). Safe from any
// goroutine.
func (ls *loopState) enqueue(c *conn, msg []byte, sequenced bool) {
	ls.mu.Lock()
	sequenced = sequenced && c.state != stateHandshaking && isTextFrame(msg)
	if c.state >= stateClosing || c.outbox&outboxSlow != 0 || c.sess.takenOver() {
		if sequenced {
			c.retainDetached(msg)
		}
		ls.mu.Unlock()
		return
	}
	// --max-outbound bounds what piles up here between two writes; at each
	// write the loop also counts what gnet still holds (write). A client
	// this far behind is not reading; the loop closes it rather than let
	// its backlog grow the server's memory. The limit is on what piles up
	// behind a message: one message always goes, so that a room-mate's
	// largest offer cannot get a client dropped when --max-outbound is
	// close to the message limit.
	if backlog := c.out.len(); backlog > 0 && backlog+len(msg) > ls.srv.cfg.MaxOutbound {
		c.outbox |= outboxSlow
		msg = nil
		sequenced = false
	}
	var wake bool
	if sequenced {
		wake = c.appendSequenced(msg)
	} else {
		wake = c.appendOut(msg)
	}
	ls.mu.Unlock()
	if wake {
		// An error means the engine is shutting down and the loop gone.
		_ = ls.el.Execute(context.Background(), ls)
	}
}

// appendOut appends msg to c's pending bytes and puts c in the inbox; it
// reports whether the loop must be woken to write them. Call with ls.mu
// held.
func (c *conn) appendOut(msg []byte) (wake bool) {
	c.queue()
	c.out.b = append(c.out.b, msg...)
	return c.ls.wakeNeeded()
}

// queue puts c in the inbox and gives it a pending buffer. Call with ls.mu
// held.
func (c *conn) queue() {
	ls := c.ls
	if c.outbox&outboxQueued == 0 {
		c.outbox |= outboxQueued
		ls.inbox = append(ls.inbox, c)
	}
	if c.out == nil {
		if n := len(ls.free); n > 0 {
			c.out = ls.free[n-1]
			ls.free = ls.free[:n-1]
		} else {
			c.out = &outBuf{}
		}
	}
}

// wakeNeeded reports whether bytes just queued need a flush task to be
// written, and notes that one is coming. Call with ls.mu held.
func (ls *loopState) wakeNeeded() bool {
	wake := ls.busy == 0 && !ls.wakePending
	if wake {
		ls.wakePending = true
	}
	return wake
}

// len is the number of bytes queued in o, which may be nil.
func (o *outBuf) len() int {
	if o == nil {
		return 0
	}
	return len(o.b)
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
	ls.busy++
	ls.mu.Unlock()
}

// exit ends a handler; the outermost one writes everything pending.
func (ls *loopState) exit() {
	for {
		ls.mu.Lock()
		if ls.busy > 1 || len(ls.inbox) == 0 {
			ls.busy--
			ls.mu.Unlock()
			return
		}
		for _, c := range ls.inbox {
			ls.batch = append(ls.batch, pending{c: c, buf: c.out, last: c.state == stateClosing, slow: c.outbox&outboxSlow != 0})
			c.out = nil
			c.outbox &^= outboxQueued
		}
		clear(ls.inbox)
		ls.inbox = ls.inbox[:0]
		sample := ls.sampleAt
		ls.sampleAt = 0
		ls.mu.Unlock()

		ls.flush()
		ls.observeRelayTime(sample)

		ls.mu.Lock()
		for _, p := range ls.batch {
			ls.recycle(p.buf)
		}
		ls.mu.Unlock()
		for _, p := range ls.batch {
			if p.c.state != stateClosed {
				ls.noteHeld(p.c)
			}
		}
		clear(ls.batch)
		ls.batch = ls.batch[:0]
	}
}

// flush writes the batch, then settles each connection in it.
func (ls *loopState) flush() {
	for i := range ls.batch {
		ls.write(&ls.batch[i])
	}
	now := ls.srv.now()
	for i := range ls.batch {
		ls.settle(&ls.batch[i], now)
	}
}

// write writes what was queued for one connection; a slow client's backlog
// is dropped instead. A client is slow when what gnet still holds for it,
// read here on its loop and so exact, and what is queued would together
// pass --max-outbound; a closing client's last bytes always go.
func (ls *loopState) write(p *pending) {
	c := p.c
	defer c.recoverPanic("writing a client's queued messages")
	if c.state == stateClosed || p.slow || p.buf == nil {
		return
	}
	if held := c.gc.OutboundBuffered(); !p.last && held > 0 && held+len(p.buf.b) > ls.srv.cfg.MaxOutbound {
		p.slow = true
		ls.mu.Lock()
		c.outbox |= outboxSlow
		ls.mu.Unlock()
		return
	}
	if hook := ls.srv.hooks.beforeFlush; hook != nil {
		hook(p.buf.b)
	}
	// A failed write makes gnet close the conn (calling OnClose).
	_, _ = c.gc.Write(p.buf.b)
}

// settle moves a connection whose last bytes were just written on in its
// life, and closes one that has fallen too far behind.
func (ls *loopState) settle(p *pending, now int64) {
	c := p.c
	defer c.recoverPanic("settling a client's queued messages")
	switch {
	case c.state == stateClosed:
	case p.last:
		c.lastBytesWritten(now)
	case p.slow || c.gc.OutboundBuffered() > ls.srv.cfg.MaxOutbound:
		ls.srv.log.Debug().Str("client", clientIDText(c)).
			Int("queued", c.gc.OutboundBuffered()).Msg("closing a client that does not read")
		c.close(ws.StatusPolicyViolation, reasonSlowConsumer)
	}
}

// noteHeld records what gnet holds for c now, for the queued-bytes gauge.
func (ls *loopState) noteHeld(c *conn) {
	held := int32(min(c.gc.OutboundBuffered(), 1<<30))
	if held != c.held {
		ls.queued += int64(held - c.held)
		c.held = held
		ls.m.queuedBytes.Store(ls.queued)
	}
}

// recycle keeps b for reuse. Call with ls.mu held.
func (ls *loopState) recycle(o *outBuf) {
	if o != nil && cap(o.b) <= maxPooledBuf && len(ls.free) < maxFreeBufs {
		o.b = o.b[:0]
		ls.free = append(ls.free, o)
	}
}
