package loop

import (
	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/redrtc/redrtc/auth"
	"github.com/redrtc/redrtc/registry"
)

// conn is the state of one connection, kept in its gnet context. It is sized
// to fit a 128-byte allocation (TestConnFitsItsSizeClass): what most
// connections never need lives in rare.
//
// Ownership: the connection's event loop goroutine owns every field, except
// those marked "guarded by ls.mu", which senders on any goroutine touch
// through the outbox. state is written only by the loop, always under ls.mu,
// so the loop reads it freely and other goroutines under ls.mu.
type conn struct {
	gc gnet.Conn
	ls *loopState
	// client is this connection's registry entry; its Sender is the conn.
	client registry.Client

	// state is where the connection is in its life; see lifecycle.go.
	state state
	// pinged is set when a ping frame went out and cleared by any frame in.
	pinged bool
	// outbox says whether the conn is in ls.inbox (outboxQueued) and whether
	// it fell more than --max-outbound behind (outboxSlow); with out, what
	// is queued for the next write, guarded by ls.mu.
	outbox outboxFlags
	// held is what gnet held for the client when the loop last looked (after
	// a write, and on the idle scan): for the queued-bytes gauge alone, as
	// --max-outbound is checked against gnet's own count when writing.
	held int32

	// idx is the conn's position in ls.conns.
	idx int32
	// roomlessSince is when the client got its id or last left a room, in
	// seconds since the server started, for --join-timeout.
	roomlessSince uint32

	// out is what is queued for the next write (guarded by ls.mu), a pooled
	// buffer or nil; a pointer, not a slice, so that seq and sess fit.
	out *outBuf
	// seq numbers the server's text events to this client's session; the
	// last one sent. Guarded by ls.mu. sess is the session's resume state,
	// nil until the client acks for the first time (session.go).
	seq  uint64
	sess *session

	// lastSeen is when the last frame (or, before the upgrade, the
	// connection) arrived, on the loop's coarse clock.
	lastSeen int64
	// tat is the rate limiter's theoretical arrival time of the next message.
	tat int64
	// rare holds state few connections ever need; nil until one does.
	rare *rareState
}

// rareState is the part of a connection's state that only a fragmented
// message, a client over its rate, a request head in pieces or a connection
// being closed needs.
type rareState struct {
	// headScanned is where the search for the end of a request head that
	// arrived in pieces resumes; see requestHeadLen.
	headScanned int
	// fragOp is the opcode of the fragmented message being assembled, or 0.
	fragOp ws.OpCode
	// frag holds the fragments received so far.
	frag []byte
	// fragOver is set when a fragment came over the rate: the message is
	// then dropped whole when its last fragment arrives. fragPaid is what
	// its fragments were charged, in frame shares, until then.
	fragOver bool
	fragPaid int64
	// When the current run of dropped messages began, and when the last
	// message was dropped and the last rate-limited error sent.
	overSince, lastDrop, lastRateError int64
	// need is how many bytes the large frame being received needs buffered
	// before it is worth looking at again; 0 when none is waiting.
	need int
	// endBy is when a draining or lingering connection is closed whatever
	// the client does.
	endBy int64
	// closeCode is the close code the server chose when the connection began
	// to close (0 for a connection closed before its upgrade).
	closeCode ws.StatusCode
	// grant is what a token given at the upgrade allows (see auth.go).
	grant *auth.Grant
}

// inRoom reports whether the client is in a room. Its room pointer is the
// one truth, which a cluster's goroutines may set (docs/cluster.md).
func (c *conn) inRoom() bool { return c.client.Room() != nil }

// rareState returns c.rare, allocating it on first use.
func (c *conn) rareState() *rareState {
	if c.rare == nil {
		c.rare = &rareState{}
	}
	return c.rare
}

// fragOp is the opcode of the message being reassembled, or 0.
func (c *conn) fragOp() ws.OpCode {
	if c.rare == nil {
		return 0
	}
	return c.rare.fragOp
}

// Send queues msg for the client; it implements registry.Sender and may be
// called from any goroutine. Once the connection is closing, it does nothing
// (unless its session is detached: session.go). A text frame is given the
// session's next seq on its way into the outbox (sequence.go).
func (c *conn) Send(msg []byte) { c.ls.enqueue(c, msg, true) }

// sendUnsequenced queues msg without a seq: client-id, resumed and pong,
// which answer this connection and mean nothing on another.
func (c *conn) sendUnsequenced(msg []byte) { c.ls.enqueue(c, msg, false) }
