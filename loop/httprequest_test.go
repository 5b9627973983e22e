package loop

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzRequestInPieces feeds bytes to a connection that has not upgraded yet
// in pieces of fuzzed sizes, as a client writing a few bytes at a time would
// have them arrive: the answer must be the one to the same bytes whole.
func FuzzRequestInPieces(f *testing.F) {
	for i, tc := range plainUpgrades {
		f.Add([]byte(tc.req), []byte{byte(i), 3, 1, 200})
	}
	f.Add([]byte(upgradeRequest+string(ping())), []byte{0})
	f.Add([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), []byte{1, 0})
	f.Add([]byte(strings.Replace(upgradeRequest, "\r\n\r\n", "\r\nX: y\nZ: w\r\n\r\n", 1)), []byte{2})
	f.Add([]byte("GET / HTTP/1.1\r\nX: "+strings.Repeat("a", MaxHeaderBytes)+"\r\n\r\n"), []byte{255, 17})
	f.Fuzz(func(t *testing.T, in, sizes []byte) {
		whole := handshakeRun(t, in)
		parts := handshakeRun(t, cut(in, sizes)...)
		if !bytes.Equal(whole, parts) {
			t.Fatalf("answer depends on how the bytes were cut (sizes %v):\nwhole %q\ncut   %q", sizes, whole, parts)
		}
	})
}

// cut splits in into pieces of 1 to 256 bytes, their sizes read in turn
// from sizes, round and round; with no sizes, in is one piece.
func cut(in, sizes []byte) [][]byte {
	if len(sizes) == 0 {
		return [][]byte{in}
	}
	var pieces [][]byte
	for i := 0; len(in) > 0; i++ {
		n := min(len(in), int(sizes[i%len(sizes)])+1)
		pieces = append(pieces, in[:n])
		in = in[n:]
	}
	return pieces
}

// A head trickled a byte at a time is searched from where the last search
// stopped: each arrival looks at its own byte and the three before it that
// may begin the blank line, so the work is linear in the head's size, and
// the head is parsed once, when its blank line arrives.
func TestRequestHeadTrickledIsSearchedOnce(t *testing.T) {
	req := []byte(plainUpgrades[0].req)
	d := newDetached(t)
	c := &conn{ls: d.ls}
	searched := 0
	for n := 1; n <= len(req); n++ {
		from := resumeAt(c)
		searched += n - from
		consumed := d.srv.handshake(c, req[:n])
		if n == len(req) {
			if consumed != n || c.state != stateOpen {
				t.Fatalf("whole head: consumed %d of %d, state %v", consumed, n, c.state)
			}
			break
		}
		if consumed != 0 || c.state != stateHandshaking {
			t.Fatalf("after %d bytes: consumed %d, state %v", n, consumed, c.state)
		}
		if want := max(0, n-(len(headerEnd)-1)); resumeAt(c) != want {
			t.Fatalf("after %d bytes the next search starts at %d, want %d", n, resumeAt(c), want)
		}
	}
	if limit := len(headerEnd) * len(req); searched > limit {
		t.Fatalf("searched %d bytes for a %d-byte head, over %d", searched, len(req), limit)
	}
}

// resumeAt is where c's next search for the end of its request head starts.
func resumeAt(c *conn) int {
	if c.rare == nil {
		return 0
	}
	return c.rare.headScanned
}

// A head with no end, trickled, is refused with 431 once it passes
// MaxHeaderBytes, and the search never looks past that.
func TestEndlessHeadTrickledIsRefusedAtTheLimit(t *testing.T) {
	req := []byte("GET / HTTP/1.1\r\nX: " + strings.Repeat("a", MaxHeaderBytes))
	d := newDetached(t)
	c := &conn{ls: d.ls}
	for n := 1; n <= MaxHeaderBytes; n++ {
		if consumed := d.srv.handshake(c, req[:n]); consumed != 0 {
			t.Fatalf("consumed %d of %d bytes, under the limit", consumed, n)
		}
	}
	if at := resumeAt(c); at != MaxHeaderBytes-(len(headerEnd)-1) {
		t.Fatalf("next search would start at %d", at)
	}
	if consumed := d.srv.handshake(c, req[:MaxHeaderBytes+1]); consumed != MaxHeaderBytes+1 {
		t.Fatalf("consumed %d of %d bytes over the limit", consumed, MaxHeaderBytes+1)
	}
	if out := d.takeOutput(c); !bytes.HasPrefix(out, []byte("HTTP/1.1 431 ")) {
		t.Fatalf("answered %q", out)
	}
}

// parseRequest folds header names by ASCII case only, keeps the first value
// of each header, and marks what the fast path must leave to ws.Upgrader.
func TestParseRequest(t *testing.T) {
	plain := plainUpgrades[3].req
	for _, tc := range []struct {
		name, req   string
		key, origin string
		unusual     bool
	}{
		{"plain", plain, "x3JJHMbDL1EzLkh9GBhXDw==", "", false},
		{"names in any ASCII case", strings.Replace(plain, "Sec-WebSocket-Key:", "SEC-websocket-KEY:", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", false},
		{"Kelvin sign in a name", strings.Replace(plain, "Sec-WebSocket-Key:", "Sec-WebSoc\u212aet-Key:", 1), "", "", true},
		{"two origins: the first counts", strings.Replace(plain, "\r\n\r\n", "\r\nOrigin: https://a.example\r\norigin: https://b.example\r\n\r\n", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "https://a.example", false},
		{"two keys: the first counts", strings.Replace(plain, "\r\n\r\n", "\r\nSec-WebSocket-Key: second\r\n\r\n", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", true},
		{"value trimmed of spaces and tabs", strings.Replace(plain, "\r\n\r\n", "\r\nOrigin: \t https://a.example \t\r\n\r\n", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "https://a.example", false},
		{"bare LF in a header line", strings.Replace(plain, "Host: 127.0.0.1:8080\r\n", "Host: 127.0.0.1:8080\nOrigin: https://a.example\r\n", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", true},
		{"two CRs end the request line", strings.Replace(plain, "HTTP/1.1\r\n", "HTTP/1.1\r\r\n", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", true},
		{"HTTP/1.0", strings.Replace(plain, "HTTP/1.1", "HTTP/1.0", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", true},
		{"control character in a value", strings.Replace(plain, "Go-http-client", "Go\x01", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", true},
		{"space before a colon", strings.Replace(plain, "Host:", "Host :", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := parseRequest([]byte(tc.req))
			if !r.lineOK || string(r.method) != "GET" || string(r.path()) != "/" {
				t.Fatalf("request line: ok %v, method %q, path %q", r.lineOK, r.method, r.path())
			}
			if string(r.key) != tc.key || string(r.origin) != tc.origin || r.unusual != tc.unusual {
				t.Fatalf("key %q, origin %q, unusual %v; want %q, %q, %v", r.key, r.origin, r.unusual, tc.key, tc.origin, tc.unusual)
			}
		})
	}
}
