package loop

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/internal/testkit"
)

// TestConnFitsItsSizeClass: a conn is allocated once per connection, and at
// tens of thousands of idle connections its size class is most of the
// server's memory per client.
func TestConnFitsItsSizeClass(t *testing.T) {
	if size := unsafe.Sizeof(conn{}); size > 128 {
		t.Fatalf("conn is %d bytes, over the 128-byte size class", size)
	}
}

// transitions records the states each connection goes through, keyed by
// the client's end of the socket.
type transitions struct {
	mu    sync.Mutex
	paths map[string][]string
}

func (tr *transitions) hook(c *conn, from, to state) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	key := c.gc.RemoteAddr().String()
	if len(tr.paths[key]) == 0 {
		tr.paths[key] = []string{from.String()}
	}
	tr.paths[key] = append(tr.paths[key], to.String())
}

func (tr *transitions) path(r *rawConn) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return strings.Join(tr.paths[r.nc.LocalAddr().String()], " ")
}

// TestEveryWayAConnectionEnds drives one connection to each of the ways it
// can end and checks what its client sees and the states the server moves it
// through (lifecycle.go): every end goes through closing, and a client is
// never cut off before its last bytes are written.
func TestEveryWayAConnectionEnds(t *testing.T) {
	const written = "handshaking open closing lingering closed"
	for _, tc := range []struct {
		name  string
		cfg   Config
		hooks testHooks
		// end drives r, the connection under test, to its end, checks what
		// its client sees, and closes r.
		end  func(t *testing.T, srv *Server, r *rawConn)
		path string // a regular expression over the states
	}{
		{"the client's close frame", Config{}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			r.upgrade()
			r.write(frame(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye")))
			r.expectClose(ws.StatusNormalClosure)
		}, written},
		{"a protocol violation", Config{}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			r.upgrade()
			r.write(ws.MustCompileFrame(ws.NewTextFrame([]byte(`{"event":"ping"}`)))) // unmasked
			r.expectClose(ws.StatusProtocolError)
		}, written},
		{"an idle timeout", Config{Timeout: 300 * time.Millisecond}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			r.upgrade()
			r.expectClose(ws.StatusGoingAway) // pings go unanswered
		}, written},
		{"no room joined in time", Config{JoinTimeout: 300 * time.Millisecond}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			r.upgrade()
			r.expectError("join-timeout")
			r.expectClose(ws.StatusPolicyViolation)
		}, written},
		{"over the rate for --rate-kick", Config{Rate: 1, Burst: 1, RateKick: time.Second}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			r.upgrade()
			stop := r.keepSending(maskedText(`{"event":"ping"}`), 20*time.Millisecond)
			r.readUntilClose(ws.StatusPolicyViolation, "rate limit exceeded")
			stop()
			r.expectEOF()
		}, written},
		{"a slow consumer", Config{Rate: -1, MaxOutbound: 64 << 10}, testHooks{closeGrace: waitTimeout}, func(t *testing.T, srv *Server, r *rawConn) {
			stalledUntilDropped(t, srv, r)
			r.readUntilClose(ws.StatusPolicyViolation, "not reading fast enough")
			r.expectEOF()
		}, "handshaking open closing (draining )?lingering closed"},
		{"a panic while handling its message", Config{}, testHooks{beforeDispatch: func(payload []byte) {
			if bytes.Contains(payload, []byte("trigger-a-bug")) {
				panic("a bug in a handler")
			}
		}}, func(t *testing.T, srv *Server, r *rawConn) {
			r.upgrade()
			r.write(maskedText(`{"event":"ping","data":{"note":"trigger-a-bug"}}`))
			r.expectClose(ws.StatusInternalServerError)
		}, written},
		{"the server is full", Config{Clients: 1}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			dial(t, srv)
			r.write([]byte(upgradeRequest))
			r.response()
			r.expectError("server-full")
			r.expectClose(statusTryAgainLater)
		}, written},
		{"the server stops", Config{}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			r.upgrade()
			stopped := stopInBackground(srv)
			r.expectClose(ws.StatusGoingAway)
			_ = r.nc.Close()
			if err := <-stopped; err != nil {
				t.Fatalf("stop: %v", err)
			}
		}, written},
		{"an operator's kick", Config{}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			id := r.upgrade()
			if err := srv.Kick(id, int(StatusKicked), KickedReason); err != nil {
				t.Fatalf("kick: %v", err)
			}
			r.readUntilClose(StatusKicked, KickedReason)
			r.expectEOF()
		}, written},
		{"a drain", Config{}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			r.upgrade()
			srv.Drain()
			r.readUntilClose(ws.StatusGoingAway, goodbyeReason)
			r.expectEOF()
		}, written},
		{"a bad upgrade request", Config{}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			r.write([]byte("GET / HTTP/1.1\r\nHost: test\r\n\r\n"))
			resp := r.response()
			if resp.StatusCode != 426 {
				t.Fatalf("status %d, want 426", resp.StatusCode)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				t.Fatalf("body: %v", err)
			}
			r.expectEOF()
		}, "handshaking closing lingering closed"},
		{"an upgrade never finished", Config{}, testHooks{handshakeTimeout: 200 * time.Millisecond}, func(t *testing.T, srv *Server, r *rawConn) {
			r.write([]byte("GET / HTTP/1.1\r\nHost: te"))
			r.expectEOF()
		}, "handshaking closing closed"},
		{"the client goes away", Config{}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			r.upgrade()
		}, "handshaking open closed"},
		{"a resume takes its session over", Config{}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			r.write([]byte(upgradeRequest))
			r.response()
			id := r.expectText("client-id")
			r.write(maskedText(`{"event":"ack","data":{"seq":0}}`))
			next := dial(t, srv)
			resumeAs(next, &testkit.Client{ID: id.Str(t, "clientId"), Token: id.Str(t, "resumeToken")}, 0)
			next.Expect("resumed")
			r.expectClose(statusTakenOver)
		}, written},
		{"a resumable client goes away, and its grace passes", Config{ResumeGrace: 100 * time.Millisecond}, testHooks{}, func(t *testing.T, srv *Server, r *rawConn) {
			r.upgrade()
			r.write(maskedText(`{"event":"ack","data":{"seq":0}}`))
			r.write(maskedText(`{"event":"ping"}`))
			r.expectText("pong") // the ack came first: the session is resumable
			_ = r.nc.Close()
			testkit.CheckFor(t, waitTimeout, pollEvery, clientsConnected(srv, 0)) // detached, then ended
		}, "handshaking open closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr := &transitions{paths: map[string][]string{}}
			hooks := tc.hooks
			hooks.transition = tr.hook
			srv := startServerWith(t, tc.cfg, hooks)
			r := dialRaw(t, srv)
			tc.end(t, srv, r)
			_ = r.nc.Close()
			want := regexp.MustCompile("^" + tc.path + "$")
			testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
				if got := tr.path(r); !strings.HasSuffix(got, "closed") {
					return fmt.Errorf("states %q, not yet closed", got)
				}
				return nil
			})
			if got := tr.path(r); !want.MatchString(got) {
				t.Fatalf("states %q, want %q", got, tc.path)
			}
		})
	}
}

// stalledUntilDropped makes r a room-mate that reads nothing while another
// client floods it with offers, until the server drops it for falling more
// than --max-outbound behind: its room hears of its departure.
func stalledUntilDropped(t *testing.T, srv *Server, r *rawConn) {
	t.Helper()
	id := r.upgrade()
	flooder := dial(t, srv)
	flooder.Join("flood")
	r.write(maskedText(`{"event":"join-room","data":{"roomId":"flood"}}`))
	flooder.Expect("participants")
	dropped := make(chan struct{})
	go func() {
		defer close(dropped)
		for {
			ev, err := flooder.Read()
			if err != nil || ev.Event == "participants" && len(ev.List(t, "participants")) == 1 {
				return
			}
		}
	}()
	offer := strings.Repeat("o", 20000)
	for range 1000 {
		select {
		case <-dropped:
			return
		default:
		}
		flooder.Send("offer", map[string]any{"targetClientId": id, "offer": offer})
	}
	select {
	case <-dropped:
	case <-time.After(waitTimeout):
		t.Fatal("the stalled client was never dropped")
	}
}

// expectError reads the next frame, an error event with this code.
func (r *rawConn) expectError(code string) {
	r.t.Helper()
	if got := r.expectText("error").Str(r.t, "code"); got != code {
		r.t.Fatalf("error code %q, want %q", got, code)
	}
}

// readUntilClose reads frames until a close frame with this code and reason.
func (r *rawConn) readUntilClose(code ws.StatusCode, reason string) {
	r.t.Helper()
	for {
		f := r.readFrame()
		if f.Header.OpCode != ws.OpClose {
			continue
		}
		if got, why := ws.ParseCloseFrameData(f.Payload); got != code || why != reason {
			r.t.Fatalf("close %d %q, want %d %q", got, why, code, reason)
		}
		return
	}
}

// expectEOF reads to the end of the stream, which must be a clean one (a
// FIN, not a reset) with nothing before it.
func (r *rawConn) expectEOF() {
	r.t.Helper()
	if n, err := io.Copy(io.Discard, r.br); err != nil || n != 0 {
		r.t.Fatalf("%d bytes and %v, want nothing but the end of the stream", n, err)
	}
}

// keepSending writes msg every interval, on its own goroutine, until the
// returned stop is called or a write fails.
func (r *rawConn) keepSending(msg []byte, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for range 10_000 {
			if _, err := r.nc.Write(msg); err != nil && !errors.Is(err, io.EOF) {
				return
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// TestAReaderThatCaughtUpIsNotDropped: what gnet held for a client a while
// ago does not count against --max-outbound once the client has read it:
// the largest message still reaches a reader with nothing waiting, with
// the limit at its smallest.
func TestAReaderThatCaughtUpIsNotDropped(t *testing.T) {
	srv := startServer(t, Config{Rate: -1, MaxOutbound: 64 << 10})
	reader, readerID := smallWindowClient(t, srv)
	flooder := dial(t, srv)
	flooder.Join("r")
	reader.write(maskedText(`{"event":"join-room","data":{"roomId":"r"}}`))
	flooder.Expect("participants")
	reader.expectText("room-joined")
	reader.expectText("participants")

	// Offers one at a time, each relayed before the next, until gnet holds
	// some of them for the reader, which reads nothing meanwhile.
	chunk := strings.Repeat("x", 16000)
	sent := 0
	testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
		if relayed := srv.Metrics().Relayed["offer"]; relayed < uint64(sent) {
			return fmt.Errorf("%d of %d offers relayed", relayed, sent)
		}
		if queuedInGnet(srv, readerID) > 0 {
			return nil
		}
		if sent == 200 {
			return testkit.GiveUp(fmt.Errorf("gnet holds nothing for a reader that read none of %d offers", sent))
		}
		flooder.Send("offer", map[string]any{"targetClientId": readerID, "offer": chunk})
		sent++
		return fmt.Errorf("gnet holds nothing yet after %d offers", sent)
	})
	for range sent {
		reader.expectText("offer")
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
		if n := queuedInGnet(srv, readerID); n > 0 {
			return fmt.Errorf("gnet still holds %d bytes for the reader", n)
		}
		return nil
	})
	big := strings.Repeat("y", 65300)
	flooder.Send("offer", map[string]any{"targetClientId": readerID, "offer": big})
	if got := reader.expectText("offer").Str(t, "offer"); got != big {
		t.Fatalf("offer of %d bytes arrived as %d", len(big), len(got))
	}
}
