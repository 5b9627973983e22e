package loop

import (
	"strings"
	"testing"
)

// offerSDP is a realistic 3 KB offer, as browsers send it.
var offerSDP = func() string {
	line := `a=candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host generation 0 network-id 1\r\n`
	s := `{"type":"offer","sdp":"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n`
	for len(s) < 3000 {
		s += line
	}
	return s + `"}`
}()

// BenchmarkRelay measures the whole per-message path on the receiving loop:
// frame header, unmasking, UTF-8 check, decoding, target lookup, encoding and
// queueing for the target. Once warm it must not allocate.
func BenchmarkRelay(b *testing.B) {
	for _, bc := range []struct{ name, event, key, payload string }{
		{"candidate", "ice-candidate", "candidate", `{"candidate":"candidate:842163049 1 udp 1677729535 203.0.113.7 3478 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXm4 network-cost 999","sdpMid":"0","sdpMLineIndex":0}`},
		{"offer3KB", "offer", "offer", offerSDP},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := newDetached(b)
			from, to := d.conn(b), d.conn(b)
			d.join(b, from, "bench")
			d.join(b, to, "bench")
			d.takeOutput(from)
			d.takeOutput(to)
			template := maskedText(`{"event":"` + bc.event + `","data":{"targetClientId":"` + idText(to) + `","` + bc.key + `":` + bc.payload + `}}`)
			buf := make([]byte, len(template))
			b.ReportAllocs()
			b.SetBytes(int64(len(template)))
			b.ResetTimer()
			for range b.N {
				copy(buf, template) // unmasking works in place
				if n := from.frames(buf); n != len(buf) {
					b.Fatalf("consumed %d of %d", n, len(buf))
				}
				if out := d.takeOutput(to); len(out) == 0 {
					b.Fatal("nothing relayed")
				}
			}
		})
	}
}

func TestRelayPathDoesNotAllocate(t *testing.T) {
	d := newDetached(t)
	from, to := d.conn(t), d.conn(t)
	d.join(t, from, "r")
	d.join(t, to, "r")
	send := offerSender(from, to)
	relayed := 0
	allocs := testing.AllocsPerRun(500, func() {
		send()
		if len(d.takeOutput(to)) > len(offerSDP) {
			relayed++
		}
	})
	if relayed != 501 { // AllocsPerRun runs once more to warm up
		t.Fatalf("relayed %d of 501 offers", relayed)
	}
	if allocs != 0 {
		t.Fatalf("relaying allocates %.1f times per message", allocs)
	}
}

// offerSender returns a function that feeds from's frame parser one 3 KB
// offer for to, as if it had arrived on from's socket.
func offerSender(from, to *conn) func() {
	template := maskedText(`{"event":"offer","data":{"targetClientId":"` + idText(to) + `","offer":` + offerSDP + `}}`)
	buf := make([]byte, len(template))
	return func() {
		copy(buf, template) // unmasking works in place
		from.frames(buf)
	}
}

// BenchmarkUpgrade measures a connection's HTTP upgrade: finding the end of
// the request, checking it, the 101 response (from fastUpgrade, as for every
// plain request), the client id and the client table. Once warm it must not
// allocate. The connection's own state is allocated when it opens, before
// the upgrade, so it is reused here.
func BenchmarkUpgrade(b *testing.B) {
	d := newDetached(b)
	req := []byte(strings.Replace(upgradeRequest, "\r\n\r\n", "\r\nSec-WebSocket-Protocol: webrtc-signaling\r\nOrigin: https://app.example.com\r\n\r\n", 1))
	c := &conn{ls: d.ls}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		*c = conn{ls: d.ls}
		if n := d.srv.handshake(c, req); n != len(req) || c.state != stateOpen {
			b.Fatalf("consumed %d of %d, registered %v", n, len(req), c.state == stateOpen)
		}
		d.recycleOutput(c)
		d.srv.clients.Remove(&c.client)
	}
}
