package loop

import (
	"bytes"
	"testing"

	"github.com/gobwas/ws"
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
	d.feed(c, append([]byte(nil), a...), append([]byte(nil), b...))
	out := d.takeOutput(c)
	out = bytes.ReplaceAll(out, []byte(idText(c)), []byte("<self>"))
	return bytes.ReplaceAll(out, []byte(idText(peer)), []byte("<peer>"))
}

func idText(c *conn) string {
	var b [36]byte
	return string(protoID(c).AppendText(b[:0]))
}
