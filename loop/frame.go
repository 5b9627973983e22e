package loop

import (
	"encoding/binary"
	"io"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
)

// maxServerHeader is the largest header of an unmasked server frame.
const maxServerHeader = 10

// trickleThreshold is the frame size above which the loop, once it has read
// a frame's header, waits for the whole frame before looking again. gnet's
// Peek copies everything buffered whenever bytes arrive, so a 64 KiB frame
// sent a byte at a time would otherwise cost quadratic copying on the loop.
const trickleThreshold = 1024

// sliceReader reads from a byte slice; it feeds ws.ReadHeaderBuffer the bytes
// gnet has buffered, without copying them.
type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// headerWriter receives the header ws.WriteHeaderBuffer writes.
type headerWriter struct{ b []byte }

func (w *headerWriter) Write(p []byte) (int, error) {
	w.b = append(w.b[:0], p...)
	return len(p), nil
}

// begin starts encoding a frame in ls.enc, leaving room for its header, and
// returns the slice to append the payload to.
func (ls *loopState) begin() []byte {
	return ls.enc[:maxServerHeader]
}

// finish writes the header in front of the payload appended to begin's slice
// and returns the whole frame, valid until the next begin.
func (ls *loopState) finish(b []byte, op ws.OpCode) []byte {
	ls.enc = b
	h := ws.Header{Fin: true, OpCode: op, Length: int64(len(b) - maxServerHeader)}
	// Cannot fail: hdr is large enough and hw accepts every write.
	_ = ws.WriteHeaderBuffer(&ls.hw, h, ls.hdr[:])
	start := maxServerHeader - len(ls.hw.b)
	copy(b[start:], ls.hw.b)
	return b[start:]
}

// closeFrame encodes a close frame with the given code and reason.
func (ls *loopState) closeFrame(code ws.StatusCode, reason string) []byte {
	b := ls.begin()
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	b = append(b, reason...)
	return ls.finish(b, ws.OpClose)
}

// frameError is a protocol violation that ends the connection.
type frameError struct {
	code   ws.StatusCode
	reason string
}

var (
	errUnmasked     = &frameError{ws.StatusProtocolError, "client frames must be masked"}
	errReservedBits = &frameError{ws.StatusProtocolError, "reserved bits set"}
	errBadOpcode    = &frameError{ws.StatusProtocolError, "unknown opcode"}
	errBadControl   = &frameError{ws.StatusProtocolError, "control frames must be final and at most 125 bytes"}
	errContinuation = &frameError{ws.StatusProtocolError, "continuation frame without a message to continue"}
	errInterleaved  = &frameError{ws.StatusProtocolError, "new message before the fragmented one ended"}
	errBadClose     = &frameError{ws.StatusProtocolError, "malformed close frame"}
	errTooBig       = &frameError{ws.StatusMessageTooBig, "message too big"}
	errBadUTF8      = &frameError{ws.StatusInvalidFramePayloadData, "text message is not valid UTF-8"}
	errCloseBadUTF8 = &frameError{ws.StatusInvalidFramePayloadData, "close reason is not valid UTF-8"}
	errHeaderLength = &frameError{ws.StatusProtocolError, "malformed frame length"}
)

// frames processes every complete frame at the start of buf and returns how
// many bytes it consumed. It stops at an incomplete frame, or after a frame
// that ends the connection.
func (c *conn) frames(buf []byte) int {
	ls := c.ls
	consumed := 0
	for c.state == stateOpen && len(buf)-consumed >= 2 {
		ls.hr.b = buf[consumed:]
		h, err := ws.ReadHeaderBuffer(&ls.hr, ls.hdr[:])
		if err != nil {
			if err == ws.ErrHeaderLengthMSB || err == ws.ErrHeaderLengthUnexpected {
				c.fail(errHeaderLength)
				return len(buf)
			}
			return consumed // header incomplete
		}
		headerLen := len(buf) - consumed - len(ls.hr.b)
		if ferr := c.checkHeader(h); ferr != nil {
			c.fail(ferr)
			return len(buf)
		}
		if int64(len(ls.hr.b)) < h.Length {
			if total := headerLen + int(h.Length); total > trickleThreshold {
				c.rareState().need = total
			}
			return consumed // payload incomplete
		}
		payload := buf[consumed+headerLen : consumed+headerLen+int(h.Length)]
		consumed += headerLen + int(h.Length)
		ws.Cipher(payload, h.Mask, 0)
		c.lastSeen = ls.srv.now()
		c.pinged = false
		if ferr := c.frame(h, payload); ferr != nil {
			c.fail(ferr)
			return len(buf)
		}
	}
	return consumed
}

// checkHeader rejects a frame from its header alone, before its payload is
// buffered, so that an oversized frame is refused without reading it.
func (c *conn) checkHeader(h ws.Header) *frameError {
	switch {
	case !h.Masked:
		return errUnmasked
	case h.Rsv != 0:
		return errReservedBits
	case h.OpCode.IsReserved():
		return errBadOpcode
	case h.OpCode.IsControl():
		if !h.Fin || h.Length > ws.MaxControlFramePayloadSize {
			return errBadControl
		}
	case h.OpCode == ws.OpContinuation:
		if c.fragOp() == 0 {
			return errContinuation
		}
		// Subtracted, not added: a length near 2^63 would wrap the sum.
		if h.Length > int64(c.ls.srv.cfg.MaxMessage)-int64(len(c.rare.frag)) {
			return errTooBig
		}
	default: // text or binary
		if c.fragOp() != 0 {
			return errInterleaved
		}
		if h.Length > int64(c.ls.srv.cfg.MaxMessage) {
			return errTooBig
		}
	}
	return nil
}

// frame handles one complete, unmasked frame.
func (c *conn) frame(h ws.Header, payload []byte) *frameError {
	switch h.OpCode {
	case ws.OpPing:
		if c.allowMessage(len(payload)) {
			c.Send(c.ls.finish(append(c.ls.begin(), payload...), ws.OpPong))
		}
	case ws.OpPong:
		// lastSeen is all a pong is for; a flood of them still counts.
		c.allowFrame()
	case ws.OpClose:
		return c.closeReceived(payload)
	case ws.OpContinuation:
		r := c.rare
		r.frag = append(r.frag, payload...)
		if h.Fin {
			op, msg, over, paid := r.fragOp, r.frag, r.fragOver, r.fragPaid
			r.fragOp, r.frag, r.fragOver, r.fragPaid = 0, nil, false, 0
			if over {
				return nil // dropped whole; charge told the client rate-limited
			}
			// The message is charged as a whole below; what its fragments
			// paid on the way is given back, so fragmenting costs nothing.
			c.refund(paid)
			return c.message(op, msg)
		}
		c.chargeFragment()
	default:
		if !h.Fin {
			r := c.rareState()
			r.fragOp = h.OpCode
			r.frag = append(make([]byte, 0, len(payload)*2), payload...)
			c.chargeFragment()
			return nil
		}
		return c.message(h.OpCode, payload)
	}
	return nil
}

// closeReceived answers a close frame with the same code and closes.
func (c *conn) closeReceived(payload []byte) *frameError {
	code := ws.StatusNormalClosure
	if len(payload) > 0 {
		if len(payload) < 2 {
			return errBadClose
		}
		code = ws.StatusCode(binary.BigEndian.Uint16(payload))
		if !validCloseCode(code) {
			return errBadClose
		}
		if !utf8.Valid(payload[2:]) {
			return errCloseBadUTF8
		}
	}
	if code != ws.StatusNormalClosure {
		c.closeDropped(code, "") // a resumable session outlives it
		return nil
	}
	c.close(code, "")
	return nil
}

// validCloseCode reports whether a peer may send code (RFC 6455 7.4).
func validCloseCode(code ws.StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// fail closes the connection for a protocol violation.
func (c *conn) fail(ferr *frameError) { c.close(ferr.code, ferr.reason) }

// message handles one whole data message.
func (c *conn) message(op ws.OpCode, payload []byte) *frameError {
	if !c.allowMessage(len(payload)) {
		return nil
	}
	if op == ws.OpBinary {
		c.sendError(proto.Problem{Code: proto.CodeBadRequest, Message: "binary messages are not supported; send JSON text"})
		return nil
	}
	if !utf8.Valid(payload) {
		return errBadUTF8
	}
	c.dispatch(payload)
	return nil
}
