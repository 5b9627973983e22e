package loop

import (
	"encoding/binary"

	"github.com/redrtc/redrtc/proto"
)

// Every server event a client gets carries seq, its session's counter, so
// that the client can ack what it has and resume after what it had. Events
// are encoded once (an announcement for a whole room, a relay for its
// target) and framed by finish; the seq is added per recipient on the way
// into its outbox, where the frame is copied anyway: the header is written
// anew for the longer payload, the payload's final `}` gives way to
// `,"seq":N}`. Callers stay as they were, and nothing allocates. Control
// frames (ping, close), HTTP replies and the unsequenced events (client-id,
// resumed, pong) pass through untouched.

// textFrameOp is the first byte of an unfragmented server text frame.
const textFrameOp = 0x81

// isTextFrame reports whether msg is a whole server text frame.
func isTextFrame(msg []byte) bool { return len(msg) >= 2 && msg[0] == textFrameOp }

// framePayload splits a server frame (unmasked, as finish writes it) into
// its payload, or returns nil when msg is not one whole frame.
func framePayload(msg []byte) []byte {
	n, hl := int(msg[1]&0x7f), 2
	switch {
	case n == 126 && len(msg) >= 4:
		n, hl = int(binary.BigEndian.Uint16(msg[2:])), 4
	case n == 127 && len(msg) >= 10:
		n, hl = int(binary.BigEndian.Uint64(msg[2:])), 10
	case n >= 126:
		return nil
	}
	if len(msg)-hl != n {
		return nil
	}
	return msg[hl:]
}

// appendTextHeader appends the header of an unfragmented, unmasked text
// frame of n payload bytes (RFC 6455, 5.2).
func appendTextHeader(dst []byte, n int) []byte {
	switch {
	case n < 126:
		return append(dst, textFrameOp, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, textFrameOp, 126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, textFrameOp, 127), uint64(n))
}

// appendWithSeq appends msg, a server text frame carrying one JSON event,
// with `,"seq":seq` added at the end of the event object.
func appendWithSeq(dst, msg []byte, seq uint64) []byte {
	payload := framePayload(msg)
	if len(payload) == 0 || payload[len(payload)-1] != '}' {
		return append(dst, msg...) // not an event: nothing of ours
	}
	var tailBuf [32]byte
	tail := proto.AppendSeq(tailBuf[:0], seq)
	dst = appendTextHeader(dst, len(payload)-1+len(tail))
	dst = append(dst, payload[:len(payload)-1]...)
	return append(dst, tail...)
}

// appendSequenced queues msg for c with the session's next seq, and keeps a
// copy while the session is resumable. Call with ls.mu held.
func (c *conn) appendSequenced(msg []byte) (wake bool) {
	c.queue()
	c.seq++
	start := len(c.out.b)
	c.out.b = appendWithSeq(c.out.b, msg, c.seq)
	if c.sess != nil {
		c.sess.retain(c.ls, c.out.b[start:])
	}
	return c.ls.wakeNeeded()
}

// retainDetached gives msg, sent to a session whose socket is gone, its
// seq and keeps it for the resume. A connection that is merely closing,
// with no session to outlive it, drops msg as before. Call with ls.mu held.
func (c *conn) retainDetached(msg []byte) {
	if c.sess == nil || c.sess.phase != sessionDetached {
		return
	}
	ls := c.ls
	c.seq++
	ls.seqScratch = appendWithSeq(ls.seqScratch[:0], msg, c.seq)
	c.sess.retain(ls, ls.seqScratch)
}
