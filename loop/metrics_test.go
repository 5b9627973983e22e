package loop

import (
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/redrtc/redrtc/internal/testkit"
)

// TestMetricsCountTimeouts: a handshake that never ends, a client that
// joins no room and one that stops answering are each counted once, by
// reason and by close code.
func TestMetricsCountTimeouts(t *testing.T) {
	srv := startServerWith(t, Config{JoinTimeout: 300 * time.Millisecond, Timeout: 600 * time.Millisecond},
		testHooks{handshakeTimeout: 200 * time.Millisecond})
	half := dialRaw(t, srv)
	half.write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
	roomless := dial(t, srv)
	silent := dial(t, srv)
	silent.Join("r") // then reads nothing: no pong for the server's ping
	roomless.ExpectError("join-timeout", "")
	roomless.ExpectClose(websocket.StatusPolicyViolation)

	testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
		m := srv.Metrics()
		got := fmt.Sprint(m.JoinTimeouts, m.IdleTimeouts, m.Refused["handshake_timeout"],
			m.Closes["1008"], m.Closes["1001"], m.Closes["none"], m.Errors["join-timeout"], m.Accepted, m.RoomSize.Count)
		if want := "1 1 1 1 1 1 1 3 1"; got != want {
			return fmt.Errorf("join timeouts, idle timeouts, handshake timeouts, closes 1008, 1001, none, join-timeout errors, accepted, joins = %s, want %s", got, want)
		}
		return nil
	})
}
