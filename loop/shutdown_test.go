package loop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/internal/testkit"
)

func TestStopTellsEveryClientTheServerIsGoingAway(t *testing.T) {
	srv := startServer(t, Config{})
	// Dialled first, so that it has left the listener's backlog (and Stop
	// finds it on a loop) by the time the later clients have their ids.
	halfUpgraded := dialRaw(t, srv)
	halfUpgraded.write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
	inRoom, mate := pairInRoom(t, srv, "farewell")
	roomless := dial(t, srv)
	raw := dialRaw(t, srv)
	raw.upgrade()

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}

	for name, c := range map[string]*testkit.Client{"a client in a room": inRoom, "its room-mate": mate, "a client in no room": roomless} {
		t.Run(name+" gets 1001", func(t *testing.T) {
			c.In(t).ExpectClose(websocket.StatusGoingAway)
		})
	}
	t.Run("the close frame says why", func(t *testing.T) {
		raw.t = t
		for {
			f := raw.readFrame()
			if f.Header.OpCode != ws.OpClose {
				continue
			}
			code, reason := ws.ParseCloseFrameData(f.Payload)
			if code != ws.StatusGoingAway || reason != goodbyeReason {
				t.Fatalf("close %d %q, want %d %q", code, reason, ws.StatusGoingAway, goodbyeReason)
			}
			return
		}
	})
	t.Run("a connection still in its upgrade is closed without a word", func(t *testing.T) {
		_ = halfUpgraded.nc.SetDeadline(time.Now().Add(waitTimeout))
		_, err := halfUpgraded.br.ReadByte()
		switch {
		case err == nil:
			t.Fatal("server sent data to a half request")
		case errors.Is(err, os.ErrDeadlineExceeded):
			t.Fatalf("still open %v after the server stopped", waitTimeout)
		case !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET):
			t.Fatalf("read after stop: %v, want the connection closed", err)
		}
	})
}

// TestStopWaitsForAClientBehindOnReading: a close frame that waits in gnet's
// outbound buffer behind what a slow reader has not read yet must still reach
// it before the socket closes. Every close the server makes takes that path
// (lifecycle.go); shutdown is where it matters most.
func TestStopWaitsForAClientBehindOnReading(t *testing.T) {
	t.Run("a slow reader gets its 1001 once it reads", func(t *testing.T) {
		srv := startServerWith(t, Config{Rate: -1}, testHooks{closeGrace: waitTimeout})
		slow, slowID := backedUpClient(t, srv)
		stopped := stopInBackground(srv)
		// Not a byte is read until the server has made up its mind.
		testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
			if !closingOrGone(srv, slowID) {
				return errors.New("the server has not begun to close the slow reader")
			}
			return nil
		})
		for {
			f := slow.readFrame() // fails the test on EOF: the frame was lost
			if f.Header.OpCode != ws.OpClose {
				continue
			}
			if code, reason := ws.ParseCloseFrameData(f.Payload); code != ws.StatusGoingAway || reason != goodbyeReason {
				t.Fatalf("close %d %q, want %d %q", code, reason, ws.StatusGoingAway, goodbyeReason)
			}
			break
		}
		if err := <-stopped; err != nil {
			t.Fatalf("stop: %v", err)
		}
	})
	t.Run("a client that never reads does not hold up the stop beyond the grace", func(t *testing.T) {
		srv := startServerWith(t, Config{Rate: -1}, testHooks{closeGrace: 200 * time.Millisecond})
		backedUpClient(t, srv)
		if err := <-stopInBackground(srv); err != nil {
			t.Fatalf("stop: %v", err)
		}
	})
}

// TestStopLetsAClientStillSendingReadItsCloseFrame: a client that keeps
// sending while the server stops must still read everything queued for it and
// its 1001. Closing its socket as soon as the close frame is handed to the
// kernel, with the client's input unread, would reset the connection, and the
// bytes the kernel had not yet sent (the close frame among them) would be
// lost; the server lingers instead, as on every other close.
func TestStopLetsAClientStillSendingReadItsCloseFrame(t *testing.T) {
	srv := startServer(t, Config{Rate: -1})
	r, id := smallWindowClient(t, srv)
	var c *conn
	onClientsLoop(srv, id, func(cc *conn) { c = cc })

	// Pongs the client does not read yet: more than its small receive
	// window, so some wait in the server's kernel, but all handed over by
	// gnet, so Stop has nothing of its own to wait for.
	const pings = 60
	payload := bytes.Repeat([]byte("p"), 125)
	var pingFrames []byte
	for range pings {
		pingFrames = append(pingFrames, frame(ws.OpPing, true, payload)...)
	}
	r.write(pingFrames)
	testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
		n := -1
		onClientsLoop(srv, id, func(c *conn) { n = c.gc.OutboundBuffered() })
		switch n {
		case 0:
			return nil
		case -1:
			return errors.New("the client is gone, want its pongs handed to the kernel")
		}
		return fmt.Errorf("%d bytes of pongs still in gnet's outbound buffer", n)
	})

	// The client keeps talking, as a busy one does, until it reads.
	quiet := make(chan struct{})
	talking := make(chan struct{})
	go func() {
		defer close(talking)
		pong := frame(ws.OpPong, true, nil)
		for range 1_000_000 {
			select {
			case <-quiet:
				return
			default:
			}
			if _, err := r.nc.Write(pong); err != nil {
				return
			}
		}
	}()
	defer func() { close(quiet); <-talking }()

	stopped := stopInBackground(srv)
	testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
		if !lingering(srv, c) {
			return errors.New("the server has neither closed the client nor lingered on it")
		}
		return nil
	})

	got := 0
	for {
		f := r.readFrame() // fails the test on a reset: the close frame was lost
		if f.Header.OpCode == ws.OpPong {
			got++
			continue
		}
		if f.Header.OpCode != ws.OpClose {
			t.Fatalf("opcode %v, want pongs and then a close frame", f.Header.OpCode)
		}
		if code, reason := ws.ParseCloseFrameData(f.Payload); code != ws.StatusGoingAway || reason != goodbyeReason {
			t.Fatalf("close %d %q, want %d %q", code, reason, ws.StatusGoingAway, goodbyeReason)
		}
		break
	}
	if got != pings {
		t.Fatalf("%d pongs before the close frame, want %d", got, pings)
	}
	_ = r.nc.Close()
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// lingering reports whether c is shut for writing and waiting for its client
// to close (lifecycle.go), or the server has stopped, closing it.
func lingering(srv *Server, c *conn) bool {
	found := make(chan bool, 1)
	err := c.ls.el.Execute(context.Background(), runOnLoop(func() {
		found <- c.state == stateLingering
	}))
	if err != nil {
		return true // the loop is gone, and c with it
	}
	select {
	case l := <-found:
		return l
	case <-srv.Done():
		return true
	}
}

// stopInBackground stops srv on another goroutine and reports the result.
func stopInBackground(srv *Server) <-chan error {
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		stopped <- srv.Stop(ctx)
	}()
	return stopped
}

// backedUpClient returns a client with a small receive buffer that has not
// read offers sent to it until some of them wait in gnet's outbound buffer
// (well under --max-outbound).
func backedUpClient(t *testing.T, srv *Server) (*rawConn, string) {
	t.Helper()
	slow, slowID := smallWindowClient(t, srv)
	sender := dial(t, srv)
	sender.Join("backlog")
	slow.write(maskedText(`{"event":"join-room","data":{"roomId":"backlog"}}`))
	sender.Expect("participants")

	offer := strings.Repeat("v", 20000)
	testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
		sender.Send("offer", map[string]any{"targetClientId": slowID, "offer": offer})
		if queuedInGnet(srv, slowID) == 0 {
			return errors.New("no bytes for the slow reader wait in gnet")
		}
		return nil
	})
	return slow, slowID
}

// smallWindowClient returns an upgraded client with a 4 KiB receive buffer
// (rawDialSmallWindow), and its id.
func smallWindowClient(t *testing.T, srv *Server) (*rawConn, string) {
	t.Helper()
	r := dialRawVia(t, srv, rawDialSmallWindow)
	_ = r.nc.SetDeadline(time.Now().Add(2 * waitTimeout))
	return r, r.upgrade()
}

// queuedInGnet is how many bytes gnet holds for the client with this id.
func queuedInGnet(srv *Server, id string) int {
	n := 0
	onClientsLoop(srv, id, func(c *conn) { n = c.gc.OutboundBuffered() })
	return n
}

// closingOrGone reports whether the server has decided to close the client
// with this id, or already has.
func closingOrGone(srv *Server, id string) bool {
	closing := true
	onClientsLoop(srv, id, func(c *conn) { closing = c.state >= stateClosing })
	return closing
}

// onClientsLoop runs f on the event loop of the client with this id, if it
// is still connected, and waits for it.
func onClientsLoop(srv *Server, id string, f func(c *conn)) {
	srv.loopsMu.Lock()
	loops := make([]*loopState, 0, len(srv.loops))
	for _, ls := range srv.loops {
		loops = append(loops, ls)
	}
	srv.loopsMu.Unlock()
	done := make(chan struct{}, len(loops))
	for _, ls := range loops {
		err := ls.el.Execute(context.Background(), runOnLoop(func() {
			defer func() { done <- struct{}{} }()
			for _, c := range ls.conns {
				if c.state != stateHandshaking && c.client.ID.String() == id {
					f(c)
				}
			}
		}))
		if err != nil {
			done <- struct{}{}
		}
	}
	for range loops {
		<-done
	}
}

// runOnLoop is a function queued on an event loop.
type runOnLoop func()

func (f runOnLoop) Run(context.Context) error { f(); return nil }
