package loop

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gobwas/ws"
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

	for name, c := range map[string]*client{"a client in a room": inRoom, "its room-mate": mate, "a client in no room": roomless} {
		t.Run(name+" gets 1001", func(t *testing.T) {
			c.t = t
			c.expectClose(websocket.StatusGoingAway)
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
