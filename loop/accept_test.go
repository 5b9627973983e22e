package loop

import (
	"syscall"
	"testing"
)

// Dead peers are found by the server's pings at a third of --timeout; TCP
// keepalive, which Go's listener turns on by default, would only add a probe
// every 15 s on every idle connection.
func TestAcceptedConnectionsHaveNoTCPKeepalive(t *testing.T) {
	srv := startServer(t, Config{})
	c := dial(t, srv)
	keepalive, err := -1, error(nil)
	onClientsLoop(srv, c.ID, func(sc *conn) {
		keepalive, err = syscall.GetsockoptInt(sc.gc.Fd(), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
	})
	if err != nil {
		t.Fatalf("getsockopt: %v", err)
	}
	if keepalive != 0 {
		t.Fatalf("SO_KEEPALIVE is %d on the server's side of a client connection, want 0", keepalive)
	}
}
