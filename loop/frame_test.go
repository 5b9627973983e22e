package loop

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/internal/testkit"
)

func ping() []byte { return frame(ws.OpText, true, []byte(`{"event":"ping","data":{}}`)) }

func TestHandshakeAndFramesSplitByteByByte(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv)
	all := append([]byte(upgradeRequest), ping()...)
	for i := range all {
		r.write(all[i : i+1])
	}
	if resp := r.response(); resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r.expectText("client-id")
	r.expectText("pong")
}

func TestHandshakeWithFramesInTheSameWrite(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv)
	var b bytes.Buffer
	b.WriteString(upgradeRequest)
	for range 3 {
		b.Write(ping())
	}
	r.write(b.Bytes())
	r.response()
	r.expectText("client-id")
	for range 3 {
		r.expectText("pong")
	}
}

func TestManyFramesInOneWrite(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv)
	r.upgrade()
	var b bytes.Buffer
	for range 50 {
		b.Write(ping())
	}
	b.Write(frame(ws.OpText, true, []byte(`{"event":"ping"`))[:5]) // and the start of another
	r.write(b.Bytes())
	for range 50 {
		r.expectText("pong")
	}
}

func TestFragmentedMessage(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv)
	r.upgrade()
	msg := []byte(`{"event":"ping","data":{}}`)
	var b bytes.Buffer
	b.Write(frame(ws.OpText, false, msg[:5]))
	b.Write(frame(ws.OpPing, true, []byte("hb"))) // control frames may interleave
	b.Write(frame(ws.OpContinuation, false, msg[5:12]))
	b.Write(frame(ws.OpContinuation, true, msg[12:]))
	r.write(b.Bytes())
	if f := r.readFrame(); f.Header.OpCode != ws.OpPong || string(f.Payload) != "hb" {
		t.Fatalf("got %v %q, want pong hb", f.Header.OpCode, f.Payload)
	}
	r.expectText("pong")
}

func TestPingFrameGetsPong(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv)
	r.upgrade()
	r.write(frame(ws.OpPing, true, []byte("are you there")))
	f := r.readFrame()
	if f.Header.OpCode != ws.OpPong || string(f.Payload) != "are you there" {
		t.Fatalf("got %v %q", f.Header.OpCode, f.Payload)
	}
}

func TestCloseFrameIsAnswered(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv)
	r.upgrade()
	r.write(frame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye")))
	r.expectClose(ws.StatusNormalClosure)
	testkit.CheckFor(t, waitTimeout, pollEvery, clientsConnected(srv, 0))
}

func TestProtocolViolationsClose(t *testing.T) {
	big := bytes.Repeat([]byte("x"), DefaultMaxMessage+1)
	cases := []struct {
		name   string
		frames []byte
		code   ws.StatusCode
	}{
		{"unmasked frame", func() []byte {
			b, _ := ws.CompileFrame(ws.NewTextFrame([]byte(`{"event":"ping"}`)))
			return b
		}(), ws.StatusProtocolError},
		{"reserved bits", func() []byte {
			f := ws.NewTextFrame([]byte("{}"))
			f.Header.Rsv = 4
			b, _ := ws.CompileFrame(ws.MaskFrameInPlace(f))
			return b
		}(), ws.StatusProtocolError},
		{"reserved opcode", frame(ws.OpCode(0x3), true, []byte("x")), ws.StatusProtocolError},
		{"continuation without a start", frame(ws.OpContinuation, true, []byte("x")), ws.StatusProtocolError},
		{"new message inside a fragmented one", append(frame(ws.OpText, false, []byte("{")), frame(ws.OpText, true, []byte("{}"))...), ws.StatusProtocolError},
		{"fragmented ping", frame(ws.OpPing, false, []byte("x")), ws.StatusProtocolError},
		{"oversized message", frame(ws.OpText, true, big), ws.StatusMessageTooBig},
		{"oversized fragments", append(frame(ws.OpText, false, big[:40000]), frame(ws.OpContinuation, true, big[:40000])...), ws.StatusMessageTooBig},
		// A continuation claiming 2^63-1 bytes: added to what is already
		// buffered, its length must not wrap around and pass as small.
		{"continuation length that overflows", append(frame(ws.OpText, false, []byte("{")),
			0x00, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4), ws.StatusMessageTooBig},
		{"invalid UTF-8", frame(ws.OpText, true, []byte("{\"event\":\"\xff\"}")), ws.StatusInvalidFramePayloadData},
		{"invalid UTF-8 across fragments", append(frame(ws.OpText, false, []byte("\"\xe2\x82")), frame(ws.OpContinuation, true, []byte("\""))...), ws.StatusInvalidFramePayloadData},
		{"close with a one-byte body", frame(ws.OpClose, true, []byte{3}), ws.StatusProtocolError},
		{"close with a reserved code", frame(ws.OpClose, true, []byte{0x03, 0xed}), ws.StatusProtocolError},
	}
	srv := startServer(t, Config{})
	bystander := joinBystander(t, srv)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, srv)
			r.upgrade()
			r.write(tc.frames)
			r.expectClose(tc.code)
			bystander.StillServed()
		})
	}
}

func TestBinaryMessageIsABadRequest(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv)
	r.upgrade()
	r.write(frame(ws.OpBinary, true, []byte{1, 2, 3}))
	ev := r.expectText("error")
	if ev.Str(t, "code") != "bad-request" {
		t.Fatalf("error %s", ev.Data)
	}
	r.write(ping())
	r.expectText("pong")
}

func TestIdleTimeout(t *testing.T) {
	timeout := 1500 * time.Millisecond
	srv := startServer(t, Config{Timeout: timeout})
	t.Run("a silent client is pinged, then closed with 1001", func(t *testing.T) {
		r := dialRaw(t, srv)
		r.upgrade()
		start := time.Now()
		f := r.readFrame()
		if f.Header.OpCode != ws.OpPing {
			t.Fatalf("got %v, want a ping frame", f.Header.OpCode)
		}
		if waited := time.Since(start); waited < timeout/3-100*time.Millisecond {
			t.Fatalf("pinged after %v, want about %v", waited, timeout/3)
		}
		r.expectClose(ws.StatusGoingAway)
		if waited := time.Since(start); waited < timeout-100*time.Millisecond {
			t.Fatalf("closed after %v, want about %v", waited, timeout)
		}
	})
	t.Run("a client that only answers ping frames, like an idle browser, stays", func(t *testing.T) {
		r := dialRaw(t, srv)
		r.upgrade()
		r.write(maskedText(`{"event":"join-room","data":{"roomId":"quiet"}}`))
		end := time.Now().Add(2*timeout + timeout/2)
		_ = r.nc.SetReadDeadline(end)
		pings := 0
		for {
			f, err := ws.ReadFrame(r.br)
			if err != nil {
				if time.Now().Before(end) {
					t.Fatalf("connection ended early: %v", err)
				}
				break
			}
			switch f.Header.OpCode {
			case ws.OpPing:
				pings++
				r.write(frame(ws.OpPong, true, f.Payload))
			case ws.OpClose:
				t.Fatalf("closed: %q", f.Payload)
			}
		}
		if pings < 2 {
			t.Fatalf("%d pings in %v, want at least 2", pings, 2*timeout)
		}
		_ = r.nc.SetDeadline(time.Now().Add(waitTimeout))
		r.write(ping())
		r.expectText("pong")
	})
	t.Run("a connection that never finishes its upgrade is closed", func(t *testing.T) {
		r := dialRaw(t, srv)
		r.write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
		_ = r.nc.SetDeadline(time.Now().Add(HandshakeTimeout + waitTimeout))
		_, err := r.br.ReadByte()
		switch {
		case err == nil:
			t.Fatal("server sent data to a half request")
		case errors.Is(err, os.ErrDeadlineExceeded):
			t.Fatalf("still open %v after the request began", HandshakeTimeout+waitTimeout)
		case !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET):
			t.Fatalf("read after the handshake timeout: %v, want the connection closed", err)
		}
	})
}

func TestHTTPEndpoints(t *testing.T) {
	srv := startServer(t, Config{})
	mate, other := pairInRoom(t, srv, "r")
	cases := []struct {
		name, request string
		status        int
		body          string
	}{
		{"healthz", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200, `{"status":"ok","clients":2,"rooms":1,"heapBytes":`},
		{"plain GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 426, ""},
		{"POST", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 426, ""},
		{"upgrade by POST", "POST" + strings.TrimPrefix(upgradeRequest, "GET"), 405, "a WebSocket upgrade must be a GET request\n"},
		{"upgrade by get, in lower case", "get" + strings.TrimPrefix(upgradeRequest, "GET"), 405, "a WebSocket upgrade must be a GET request\n"}, // methods are case-sensitive
		{"malformed request line", "HELLO\r\n\r\n", 400, ""},
		{"bad websocket key", strings.Replace(upgradeRequest, "dGhlIHNhbXBsZSBub25jZQ==", "short", 1), 400, ""},
		{"missing Host", strings.Replace(upgradeRequest, "Host: test\r\n", "", 1), 400, ""},
		{"unsupported version", strings.Replace(upgradeRequest, "Version: 13", "Version: 8", 1), 426, ""},
		{"headers too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Junk: " + strings.Repeat("j", MaxHeaderBytes) + "\r\n\r\n", 431, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, srv)
			r.write([]byte(tc.request))
			resp := r.response()
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.body != "" {
				var b bytes.Buffer
				_, _ = b.ReadFrom(resp.Body)
				if !strings.HasPrefix(b.String(), tc.body) {
					t.Fatalf("body %q, want %q", b.String(), tc.body)
				}
			}
			stillRelaying(t, mate, other)
		})
	}
}

// TestHEADGetsGETsHeadAndNoBody: load balancers that check health with HEAD
// get GET's status and head, and no response to HEAD carries a body (RFC
// 9110, 9.3.2), whatever its status.
func TestHEADGetsGETsHeadAndNoBody(t *testing.T) {
	srv := startServer(t, Config{})
	upgradeByHEAD := "HEAD" + strings.TrimPrefix(upgradeRequest, "GET")
	cases := []struct {
		name, request, contentType string
		status                     int
		header, value              string // one more header the head must carry, if any
	}{
		{"healthz", "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "application/json", 200, "", ""},
		{"any other path", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", "text/plain; charset=utf-8", 426, "Upgrade", "websocket"},
		{"an upgrade", upgradeByHEAD, "text/plain; charset=utf-8", 405, "Allow", "GET"},
		{"an upgrade with a bad key", strings.Replace(upgradeByHEAD, "dGhlIHNhbXBsZSBub25jZQ==", "short", 1), "text/plain; charset=utf-8", 405, "Allow", "GET"},
		{"headers too large", "HEAD / HTTP/1.1\r\nHost: x\r\nX-Junk: " + strings.Repeat("j", MaxHeaderBytes) + "\r\n\r\n", "text/plain; charset=utf-8", 431, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, srv)
			r.write([]byte(tc.request))
			resp, err := http.ReadResponse(r.br, &http.Request{Method: http.MethodHead})
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.contentType || resp.ContentLength <= 0 {
				t.Fatalf("status %d, Content-Type %q, Content-Length %d; want %d, %s and GET's length",
					resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength, tc.status, tc.contentType)
			}
			if got := resp.Header.Get(tc.header); tc.header != "" && got != tc.value {
				t.Errorf("%s: %q, want %q", tc.header, got, tc.value)
			}
			if !resp.Close {
				t.Error("no Connection: close")
			}
			if rest, err := io.ReadAll(r.br); err != nil || len(rest) != 0 {
				t.Fatalf("after the head: %q (%v), want nothing, then the end of the stream", rest, err)
			}
		})
	}
}

func TestUpgradeWithoutSubprotocol(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv)
	r.write([]byte(upgradeRequest))
	resp := r.response()
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Protocol") != "" {
		t.Fatalf("status %d protocol %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	r.expectText("client-id")
}

// TestLargeFrameTrickledInPieces sends a 60 KB message in 600 pieces: the
// server must wait for it whole and answer once, with room-mates unaffected.
func TestLargeFrameTrickledInPieces(t *testing.T) {
	srv := startServer(t, Config{})
	a, _ := pairInRoom(t, srv, "r")
	r := dialRaw(t, srv)
	r.upgrade()
	big := frame(ws.OpText, true, []byte(`{"event":"ping","data":{"pad":"`+strings.Repeat("p", 60000)+`"}}`))
	for i := 0; i < len(big); i += 100 {
		r.write(big[i:min(i+100, len(big))])
	}
	r.expectText("pong")
	a.StillServed()
}
