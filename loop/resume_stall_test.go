package loop

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sys/unix"

	"github.com/redrtc/redrtc/internal/testkit"
)

// netns is a network namespace joined to this one by a veth pair: a client
// dialled from inside it reaches the server over the pair, and taking the
// link down makes its packets vanish in both directions, with no reset and
// no FIN, as when a phone leaves a Wi-Fi network.
type netns struct {
	name, hostIf, hostAddr string
}

func newNetns(t *testing.T) *netns {
	t.Helper()
	testkit.RequireTool(t, "apt-get install iproute2", "ip")
	id := os.Getpid() % 100000
	n := &netns{name: fmt.Sprintf("redrtc%d", id), hostIf: fmt.Sprintf("rrh%d", id)}
	peerIf := fmt.Sprintf("rrp%d", id)
	subnet := fmt.Sprintf("10.213.%d.%d", id%250, (id/250)%64*4)
	n.hostAddr = subnet[:strings.LastIndexByte(subnet, '.')+1] + fmt.Sprint((id/250)%64*4+1)
	peerAddr := subnet[:strings.LastIndexByte(subnet, '.')+1] + fmt.Sprint((id/250)%64*4+2)
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		testkit.SkipWithout(t, fmt.Sprintf("ip netns add failed (%v: %s); the silent-stall test needs root (CAP_NET_ADMIN)", err, out))
	}
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", n.hostIf).Run()
		_ = exec.Command("ip", "netns", "del", n.name).Run()
	})
	for _, args := range [][]string{
		{"link", "add", n.hostIf, "type", "veth", "peer", "name", peerIf},
		{"link", "set", peerIf, "netns", n.name},
		{"addr", "add", n.hostAddr + "/30", "dev", n.hostIf},
		{"link", "set", n.hostIf, "up"},
		{"-n", n.name, "addr", "add", peerAddr + "/30", "dev", peerIf},
		{"-n", n.name, "link", "set", peerIf, "up"},
		{"-n", n.name, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return n
}

// dial connects from inside the namespace: the socket is made on a thread
// moved into it for the call, and stays there.
func (n *netns) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	runtime.LockOSThread()
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer home.Close()
	there, err := os.Open("/run/netns/" + n.name)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer there.Close()
	if err := unix.Setns(int(there.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("entering %s: %w", n.name, err)
	}
	var d net.Dialer
	conn, dialErr := d.DialContext(ctx, network, addr)
	if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays locked, and dies with the goroutine, rather
		// than serve others in the wrong namespace.
		return nil, fmt.Errorf("leaving %s: %w", n.name, err)
	}
	runtime.UnlockOSThread()
	return conn, dialErr
}

// cut takes the link down: from now on every packet between the namespace
// and the server is lost, silently.
func (n *netns) cut(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("ip", "link", "set", n.hostIf, "down").CombinedOutput(); err != nil {
		t.Fatalf("ip link set %s down: %v: %s", n.hostIf, err, out)
	}
}

// TestResumeAfterASilentStall: a's packets vanish mid-call, so the server
// goes on writing into a socket nobody reads and notices nothing; its peer
// sends an answer and 10 candidates; a reconnects over another path and
// resumes: the session is taken from the stalled socket, and a gets every
// event exactly once, in order, with its id; the peer never sees it leave.
func TestResumeAfterASilentStall(t *testing.T) {
	ns := newNetns(t)
	hooks := testHooks{minTimeout: 100 * time.Millisecond}
	srv, err := start(Config{Interface: ns.hostAddr, EventLoops: 2}, hooks)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_ = srv.Stop(ctx) // the stalled socket may hold Stop to closeGrace
	})
	url := wsURL(srv)
	a, _, err := testkit.DialWith(t, url, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: ns.dial}},
	})
	if err != nil {
		t.Fatalf("dialling from %s: %v", ns.name, err)
	}
	a.ID, a.Token = a.ReadClientIDToken()
	a, b, seq := joinResumable(t, a, testkit.Dial(t, url), "stall")

	ns.cut(t)
	a2 := callAndResume(t, srv, a, b, seq, 10)
	b.StillServed() // no participants came first: a never left
	b.Send("ice-candidate", map[string]any{"targetClientId": a.ID, "candidate": "after"})
	expectRelayed(t, a2, "ice-candidate", b.ID, seq+12, "after")
	if n := srv.Clients(); n != 2 {
		t.Fatalf("%d clients, want 2", n)
	}
}
