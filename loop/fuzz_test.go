package loop

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
)

// FuzzFrames feeds arbitrary bytes to the frame parser of an upgraded
// connection in a room, whole and split in two at every fuzzed point. It must
// never panic, and the split must not change what the server answers: gnet
// hands over bytes in arbitrary pieces.
func FuzzFrames(f *testing.F) {
	seeds := [][]byte{
		maskedText(`{"event":"ping","data":{}}`),
		maskedText(`{"event":"join-room","data":{"roomId":"r2","roomName":"Name"}}`),
		maskedText(`{"event":"offer","data":{"targetClientId":"00000000-0000-4000-8000-000000000000","offer":{"type":"offer","sdp":"v=0\r\n"}}}`),
		maskedText(`{"event":"leave-room","data":{}}`),
		append(frame(ws.OpText, false, []byte(`{"event":`)), frame(ws.OpContinuation, true, []byte(`"ping"}`))...),
		frame(ws.OpPing, true, []byte("hb")),
		frame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye")),
		frame(ws.OpBinary, true, []byte{0, 1, 2}),
		maskedText("not json"),
		{0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4},
		append(frame(ws.OpText, false, []byte("{")), 0x00, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4),
	}
	for i, s := range seeds {
		f.Add(s, uint16(i*7))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		whole := run(t, in, nil)
		cut := int(split) % (len(in) + 1)
		parts := run(t, in[:cut], in[cut:])
		if !bytes.Equal(whole, parts) {
			t.Fatalf("answer depends on how the bytes were split at %d:\nwhole %q\nsplit %q", cut, whole, parts)
		}
	})
}

// run feeds the chunks to a fresh connection and returns its output with the
// random client ids replaced, so that two runs can be compared.
func run(t *testing.T, a, b []byte) []byte {
	d := newDetached(t)
	c := d.conn(t)
	peer := d.conn(t)
	d.join(t, c, "r1")
	d.join(t, peer, "r1")
	d.takeOutput(c)
	pending := d.feed(c, append([]byte(nil), a...), append([]byte(nil), b...))
	checkNotWaitingForTooMuch(t, c, pending)
	out := d.takeOutput(c)
	out = bytes.ReplaceAll(out, []byte(idText(c)), []byte("<self>"))
	out = bytes.ReplaceAll(out, []byte(idText(peer)), []byte("<peer>"))
	out = anyToken.ReplaceAll(out, []byte(`"resumeToken":"<token>"`))
	return anyUUID.ReplaceAll(out, []byte("<fresh id>")) // rooms made without an id
}

// checkNotWaitingForTooMuch fails if a connection still open holds back a
// frame whose header claims more than a message may be: the server would
// buffer whatever the client sends while waiting for it.
func checkNotWaitingForTooMuch(t *testing.T, c *conn, pending []byte) {
	if c.state != stateOpen || len(pending) < 2 {
		return
	}
	h, err := ws.ReadHeader(bytes.NewReader(pending))
	if err != nil {
		return // header incomplete: bounded by its 14 bytes
	}
	var buffered uint64
	if c.rare != nil {
		buffered = uint64(len(c.rare.frag))
	}
	if uint64(h.Length)+buffered > uint64(DefaultMaxMessage) {
		t.Fatalf("waiting for a %d-byte frame after %d buffered bytes, over the %d-byte message limit", h.Length, buffered, DefaultMaxMessage)
	}
}

var anyUUID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// anyToken matches a resume token in client-id, fresh on every connection.
var anyToken = regexp.MustCompile(`"resumeToken":"[0-9a-f]{32}"`)

func idText(c *conn) string {
	var b [36]byte
	return string(c.client.ID.AppendText(b[:0]))
}

// FuzzHandshake feeds arbitrary bytes to a connection that has not upgraded
// yet, whole and split in two: the parser must never panic, and where gnet
// splits the bytes must not change the answer.
func FuzzHandshake(f *testing.F) {
	f.Add([]byte(upgradeRequest), uint16(10))
	f.Add([]byte(upgradeRequest+string(ping())), uint16(100))
	f.Add([]byte(strings.Replace(upgradeRequest, "\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat, webrtc-signaling\r\nOrigin: https://a.example\r\n\r\n", 1)), uint16(7))
	f.Add([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), uint16(3))
	f.Add([]byte("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), uint16(5))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"), uint16(30))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"), uint16(0))
	f.Add([]byte("\r\n\r\n"), uint16(1))
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		whole := handshakeRun(t, in, nil)
		cut := int(split) % (len(in) + 1)
		parts := handshakeRun(t, in[:cut], in[cut:])
		if !bytes.Equal(whole, parts) {
			t.Fatalf("answer depends on how the bytes were split at %d:\nwhole %q\nsplit %q", cut, whole, parts)
		}
	})
}

// handshakeRun feeds the chunks to a fresh, not yet upgraded connection and
// returns what it answered, with its random client id masked.
func handshakeRun(t *testing.T, chunks ...[]byte) []byte {
	d := newDetached(t)
	c := &conn{ls: d.ls}
	var buffered []byte
	for _, chunk := range chunks {
		buffered = append(buffered, chunk...)
		n := 0
		if c.state == stateHandshaking {
			n = d.srv.handshake(c, buffered)
		}
		if c.state == stateOpen {
			n += c.frames(buffered[n:])
		}
		if c.state >= stateClosing {
			n = len(buffered)
		}
		if n < 0 || n > len(buffered) {
			t.Fatalf("consumed %d of %d", n, len(buffered))
		}
		buffered = buffered[n:]
	}
	out := d.takeOutput(c)
	if c.client.ID != (proto.ClientID{}) { // upgraded, whether or not it is closing now
		out = bytes.ReplaceAll(out, []byte(idText(c)), []byte("<self>"))
		out = anyToken.ReplaceAll(out, []byte(`"resumeToken":"<token>"`))
	}
	// /healthz reports a live figure, in its body and so in its length,
	// which is all a HEAD gets.
	if bytes.Contains(out, []byte("Content-Type: application/json")) {
		out = heapFigure.ReplaceAll(out, []byte(`"heapBytes":N`))
		out = contentLength.ReplaceAll(out, []byte("Content-Length: N"))
	}
	return out
}

var (
	heapFigure    = regexp.MustCompile(`"heapBytes":[0-9]+`)
	contentLength = regexp.MustCompile(`Content-Length: [0-9]+`)
)
