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

// conn is the state of one connection, kept in its gnet context. It is sized
// to fit a 128-byte allocation: what most connections never need lives in
// rare. Unless a field says otherwise it is owned by the connection's event
// loop goroutine.
type conn struct {
	gc gnet.Conn
	ls *loopState
	// client is this connection's registry entry; its Sender is the conn.
	client registry.Client

	phase uint8
	// registered is set once client is in the client table.
	registered bool
	// inRoom is set by a successful join and cleared by leave-room.
	inRoom bool
	// pinged is set when a ping frame went out and cleared by any frame in.
	pinged bool

	// Guarded by ls.mu: whether the conn is in ls.inbox, closed, to be closed
	// once written, or over --max-outbound.
	queued     bool
	gone       bool
	closeAfter bool
	slow       bool

	// idx is the conn's position in ls.conns.
	idx int32
	// roomlessSince is when the client got its id or last left a room, in
	// seconds since the server started, for --join-timeout.
	roomlessSince uint32
	// lastSeen is when the last frame (or, before the upgrade, the
	// connection) arrived, on the loop's coarse clock.
	lastSeen int64
	// tat is the rate limiter's theoretical arrival time of the next message.
	tat int64
	// rare holds state few connections ever need; nil until one does.
	rare *rareState

	// out holds bytes waiting to be written on the loop; guarded by ls.mu.
	out []byte
}

// rareState is the part of a connection's state that only a fragmented
// message, a client over its rate or a request head in pieces needs.
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
	// drainBy is when a closing connection is closed whether or not its
	// last bytes were written, or, once they are, whether or not the client
	// has closed its side; see closeWhenWritten.
	drainBy int64
	// dropped is set when dropSlow has written the 1008 close frame.
	dropped bool
}

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
// called from any goroutine.
func (c *conn) Send(msg []byte) { c.ls.enqueue(c, msg, false) }

// sendAndClose queues msg, the last thing the client will get, and closes
// the connection once it is written.
func (c *conn) sendAndClose(msg []byte) {
	c.phase = phaseClosing
	c.ls.enqueue(c, msg, true)
}
