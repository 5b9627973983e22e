package loop

import (
	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"

	"github.com/redrtc/redrtc/registry"
)

// Connection phases.
const (
	phaseHTTP    uint8 = iota // reading the upgrade request
	phaseWS                   // exchanging WebSocket frames
	phaseClosing              // a close was decided; input is ignored
)

// conn is the state of one connection, kept in its gnet context. Unless a
// field says otherwise it is owned by the connection's event loop goroutine.
type conn struct {
	gc gnet.Conn
	ls *loopState
	// client is this connection's registry entry; its Sender is the conn.
	client registry.Client

	phase uint8
	// registered is set once client is in the client table.
	registered bool
	// joined is set by the client's first successful join.
	joined bool
	// pinged is set when a ping frame went out and cleared by any frame in.
	pinged bool
	// fragOp is the opcode of the fragmented message being assembled, or 0.
	fragOp ws.OpCode
	// idx is the conn's position in ls.conns.
	idx int32
	// lastSeen is when the last frame (or, before the upgrade, the
	// connection) arrived, on the loop's coarse clock.
	lastSeen int64
	// frag holds the fragments received so far; nil when none.
	frag []byte
	// admitted is when the client got its id, for --join-timeout.
	admitted int64
	// The rate limiter (see rate.go): the theoretical arrival time of the
	// next message, when the current run of dropped messages began, and when
	// the last message was dropped and the last rate-limited error sent.
	tat, overSince, lastDrop, lastRateError int64

	// Guarded by ls.mu: bytes waiting to be written on the loop, and whether
	// the conn is in ls.inbox, closed, or to be closed once written.
	out        []byte
	queued     bool
	gone       bool
	closeAfter bool
	// slow is set when the client's queue passed --max-outbound.
	slow bool
}

// Send queues msg for the client; it implements registry.Sender and may be
// called from any goroutine.
func (c *conn) Send(msg []byte) { c.ls.enqueue(c, msg, false) }

// sendAndClose queues msg, the last thing the client will get, and closes
// the connection once it is written.
func (c *conn) sendAndClose(msg []byte) {
	c.phase = phaseClosing
	c.ls.enqueue(c, msg, true)
}
