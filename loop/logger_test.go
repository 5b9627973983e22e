package loop

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"
	"github.com/rs/zerolog"

	"github.com/redrtc/redrtc/internal/testkit"
)

// When whole rooms drop at once, announcing a departure to a room-mate whose
// socket is already reset fails, and gnet closes that socket on the spot;
// the room-mate's own event, already returned by the same epoll_wait, then
// names a descriptor gnet no longer knows. gnet warns about each one. That is
// expected here, not something for an operator to act on, so it is logged at
// debug level: a mass disconnect must not flood the log with warnings.
func TestMassDisconnectLogsNoWarnings(t *testing.T) {
	var logs testkit.LockedBuffer
	log := zerolog.New(&logs).Level(zerolog.InfoLevel)
	srv := startServer(t, Config{Logger: &log})

	const rooms = 40
	conns := make([]*rawConn, 0, rooms*6)
	for r := range rooms {
		room := fmt.Sprintf("r%d", r)
		for range 6 {
			c := dialRaw(t, srv)
			c.upgrade()
			c.write(maskedText(`{"event":"join-room","data":{"roomId":"` + room + `"}}`))
			for c.expectAny() != "participants" {
			}
			conns = append(conns, c)
		}
	}
	// Reset every connection at once, as a crashed client or a dropped
	// network does, with announcements still unread.
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			_ = c.nc.(*net.TCPConn).SetLinger(0)
			_ = c.nc.Close()
		})
	}
	wg.Wait()
	testkit.CheckFor(t, waitTimeout, pollEvery, tablesEmpty(srv))

	for line := range strings.Lines(logs.String()) {
		if !strings.Contains(line, `"level":"info"`) {
			t.Errorf("logged above info: %s", line)
		}
	}
}

// expectAny reads the next text frame and returns its event name.
func (r *rawConn) expectAny() string {
	r.t.Helper()
	f := r.readFrame()
	if f.Header.OpCode != ws.OpText {
		r.t.Fatalf("got opcode %v (%q), want text", f.Header.OpCode, f.Payload)
	}
	var ev testkit.Event
	if err := json.Unmarshal(f.Payload, &ev); err != nil {
		r.t.Fatalf("not JSON: %s", f.Payload)
	}
	return ev.Event
}
