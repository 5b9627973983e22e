package loop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/internal/testkit"
	"github.com/redrtc/redrtc/proto"
)

// waitTimeout bounds every wait for the server; nothing in these tests sleeps.
const waitTimeout = testkit.Timeout

// startServer starts a real server on 127.0.0.1 with a free port and stops it
// when the test ends. A minTimeout below 30s lets idle-timeout tests run fast.
func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	return startServerWith(t, cfg, testHooks{})
}

// startServerWith is startServer with test hooks set.
func startServerWith(t testing.TB, cfg Config, hooks testHooks) *Server {
	t.Helper()
	cfg.Interface = "127.0.0.1"
	if hooks.minTimeout == 0 {
		hooks.minTimeout = 100 * time.Millisecond
	}
	srv, err := start(cfg, hooks)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return srv
}

func wsURL(srv *Server) string { return "ws://" + srv.Addr().String() + "/" }

// dial connects a client, offering the subprotocol, and reads its client-id.
func dial(t testing.TB, srv *Server) *testkit.Client {
	t.Helper()
	return testkit.Dial(t, wsURL(srv))
}

// dialNoID is dial without reading the client-id.
func dialNoID(t testing.TB, srv *Server) *testkit.Client {
	t.Helper()
	return testkit.DialNoID(t, wsURL(srv))
}

// pairInRoom connects two clients and puts them in one room, reading every
// announcement, so that the next thing each reads is new.
func pairInRoom(t testing.TB, srv *Server, room string) (first, second *testkit.Client) {
	t.Helper()
	first, second = dial(t, srv), dial(t, srv)
	first.Join(room)
	second.Join(room)
	first.Expect("participants")
	return first, second
}

// joinBystander connects a client that waits in a room of its own while a
// test does harm elsewhere; its StillServed then says whether the server
// kept serving it.
func joinBystander(t testing.TB, srv *Server) *testkit.Client {
	t.Helper()
	c := dial(t, srv)
	c.Join("calm")
	return c
}

// pollEvery is how often a test polls the server for a state it waits on.
const pollEvery = 5 * time.Millisecond

// clientsConnected returns a check that srv holds n clients.
func clientsConnected(srv *Server, n int) func() error {
	return func() error {
		if got := srv.Clients(); got != n {
			return fmt.Errorf("%d clients connected, want %d", got, n)
		}
		return nil
	}
}

// tablesEmpty returns a check that srv holds no client and no room.
func tablesEmpty(srv *Server) func() error {
	return func() error {
		if clients, rooms := srv.Clients(), srv.Rooms(); clients != 0 || rooms != 0 {
			return fmt.Errorf("%d clients in %d rooms, want none", clients, rooms)
		}
		return nil
	}
}

// rawConn is a hand-driven TCP connection for byte-level tests.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, srv *Server) *rawConn {
	t.Helper()
	return dialRawVia(t, srv, rawDialErr)
}

// dialRawVia is dialRaw with the dialling function given.
func dialRawVia(t testing.TB, srv *Server, dial func(*Server) (*rawConn, error)) *rawConn {
	t.Helper()
	r, err := dial(srv)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	r.t = t
	t.Cleanup(func() { _ = r.nc.Close() })
	return r
}

// rawDialErr is dialRaw for goroutines other than the test's.
func rawDialErr(srv *Server) (*rawConn, error) {
	return rawDialWith(srv, net.Dialer{Timeout: waitTimeout})
}

// rawDialWith dials srv with d and gives the connection waitTimeout.
func rawDialWith(srv *Server, d net.Dialer) (*rawConn, error) {
	nc, err := d.Dial("tcp", srv.Addr().String())
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(waitTimeout))
	return &rawConn{nc: nc, br: bufio.NewReader(nc)}, nil
}

// rawDialSmallWindow dials with a 4 KiB receive buffer, so that a client that
// stops reading backs the server up sooner. Loopback's send buffer still
// takes megabytes: in TestChaos a stalled reader is dropped after about 100
// offers of 30 KB instead of 140.
func rawDialSmallWindow(srv *Server) (*rawConn, error) {
	return rawDialWith(srv, net.Dialer{Timeout: waitTimeout, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); cerr != nil {
			return cerr
		}
		return err
	}})
}

const upgradeRequest = "GET /signal HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

func (r *rawConn) write(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// response reads an HTTP response to the request it was given.
func (r *rawConn) response() *http.Response {
	r.t.Helper()
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		r.t.Fatalf("read response: %v", err)
	}
	return resp
}

// upgrade performs the handshake and reads client-id.
func (r *rawConn) upgrade() string {
	r.t.Helper()
	r.write([]byte(upgradeRequest))
	if resp := r.response(); resp.StatusCode != http.StatusSwitchingProtocols {
		r.t.Fatalf("upgrade status %d", resp.StatusCode)
	}
	return r.expectText("client-id").Str(r.t, "clientId")
}

// frame builds a masked client frame.
func frame(op ws.OpCode, fin bool, payload []byte) []byte {
	f := ws.NewFrame(op, fin, append([]byte(nil), payload...))
	f = ws.MaskFrameInPlace(f)
	b, err := ws.CompileFrame(f)
	if err != nil {
		panic(err)
	}
	return b
}

func (r *rawConn) readFrame() ws.Frame {
	r.t.Helper()
	f, err := ws.ReadFrame(r.br)
	if err != nil {
		r.t.Fatalf("read frame: %v", err)
	}
	if f.Header.Masked {
		r.t.Fatal("server frame is masked")
	}
	return f
}

// expectText reads the next text frame, an event with this name. Ping frames
// before it are skipped, as a browser answers them without the page seeing:
// the server pings whoever has been quiet for a third of --timeout, at any
// moment.
func (r *rawConn) expectText(name string) testkit.Event {
	r.t.Helper()
	f := r.readFrame()
	for f.Header.OpCode == ws.OpPing {
		f = r.readFrame()
	}
	if f.Header.OpCode != ws.OpText {
		r.t.Fatalf("got opcode %v (%q), want text %s", f.Header.OpCode, f.Payload, name)
	}
	var ev testkit.Event
	if err := json.Unmarshal(f.Payload, &ev); err != nil || ev.Event != name {
		r.t.Fatalf("got %s, want %s", f.Payload, name)
	}
	return ev
}

// expectClose reads frames until a close frame and checks its code, then
// checks that nothing follows it and that the server ends the stream
// cleanly: a FIN, not a reset, which could make a client drop the close
// frame unread (see lifecycle.go).
func (r *rawConn) expectClose(code ws.StatusCode) {
	r.t.Helper()
	for {
		f := r.readFrame()
		if f.Header.OpCode != ws.OpClose {
			continue
		}
		got, reason := ws.ParseCloseFrameData(f.Payload)
		if got != code {
			r.t.Fatalf("close code %d (%q), want %d", got, reason, code)
		}
		break
	}
	if n, err := io.Copy(io.Discard, r.br); err != nil || n != 0 {
		r.t.Fatalf("after the close frame: %d bytes and %v, want nothing but the end of the stream", n, err)
	}
}

func mustParseID(t testing.TB, s string) proto.ClientID {
	t.Helper()
	id, ok := proto.ParseClientID([]byte(s))
	if !ok {
		t.Fatalf("bad id %q", s)
	}
	return id
}
