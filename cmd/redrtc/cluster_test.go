package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/redrtc/redrtc/internal/testkit"
)

// clusterNode starts the binary as a node of the cluster on nats, with its
// admin listener, and returns it, its client address and its admin address.
func clusterNode(t *testing.T, natsURL, id string) (*proc, string, string) {
	t.Helper()
	admin := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	p, addr := serve(t, "-i", "127.0.0.1", "--nats-url", natsURL, "--node-id", id, "--node-timeout", "1", "--admin-addr", admin)
	return p, addr, admin
}

// adminGet returns the status and body of GET path on an admin listener.
func adminGet(addr, path string) (int, string, error) {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// adminSays checks that GET path answers status with a body holding want.
func adminSays(addr, path string, status int, want string) func() error {
	return func() error {
		got, body, err := adminGet(addr, path)
		if err != nil {
			return err
		}
		if got != status || !strings.Contains(body, want) {
			return fmt.Errorf("GET %s: %d %.300s, want %d with %q", path, got, body, status, want)
		}
		return nil
	}
}

// TestClusterOfProcessesOnARealNATSServer runs two redrtc processes and a
// nats-server process, as an operator does: a room spans both nodes, one
// node is killed (SIGKILL) mid-call and its member leaves within
// --node-timeout, the survivor's /readyz turns 503 while NATS is down and
// back to 200 once it returns, and its metrics count what happened.
func TestClusterOfProcessesOnARealNATSServer(t *testing.T) {
	t.Parallel()
	nats := testkit.StartNATS(t)
	one, addr1, admin1 := clusterNode(t, nats.URL, "one")
	two, addr2, _ := clusterNode(t, nats.URL, "two")

	a, b := testkit.Dial(t, wsURL(addr1)), testkit.Dial(t, wsURL(addr2))
	a.Join("procs")
	b.Send("join-room", map[string]any{"roomId": "procs"})
	if got := b.Expect("room-joined").List(t, "participants"); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Fatalf("b joined %v", got)
	}
	if got := a.Await("participants").List(t, "participants"); len(got) != 2 {
		t.Fatalf("a sees %v", got)
	}
	a.Send("offer", map[string]any{"targetClientId": b.ID, "offer": map[string]any{"type": "offer", "sdp": "v=0"}})
	if ev := b.Await("offer"); ev.Str(t, "fromClientId") != a.ID {
		t.Fatalf("offer %s", ev.Raw)
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, adminSays(admin1, "/readyz", http.StatusOK, "ready"))

	two.signal(syscall.SIGKILL)
	<-two.exited
	if got := a.Await("participants").List(t, "participants"); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("after node two was killed a sees %v", got)
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, adminSays(admin1, "/metrics", http.StatusOK, "redrtc_cluster_node_losses_total 1"))

	nats.Stop()
	testkit.CheckFor(t, waitTimeout, pollEvery, adminSays(admin1, "/readyz", http.StatusServiceUnavailable, "no-nats"))
	a.Send("join-room", map[string]any{"roomId": "elsewhere"})
	a.ExpectError("cluster-unavailable", "join-room")
	nats.Start()
	testkit.CheckFor(t, waitTimeout, pollEvery, adminSays(admin1, "/readyz", http.StatusOK, "ready"))
	testkit.CheckFor(t, waitTimeout, pollEvery, adminSays(admin1, "/metrics", http.StatusOK, "redrtc_cluster_nats_connected 1"))
	a.StillServed()
	_ = addr2

	one.signal(syscall.SIGTERM)
	if code := one.wait(); code != 0 {
		t.Fatalf("node one exited %d after SIGTERM", code)
	}
}

// TestClusterFlagsAreChecked refuses bad cluster flags before starting,
// and a node that cannot reach NATS does not start.
func TestClusterFlagsAreChecked(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--nats-url", "nats://127.0.0.1:1", "--node-timeout", "0"},
		{"--nats-url", "nats://127.0.0.1:1", "--node-id", "has space"},
		{"--nats-url", "nats://127.0.0.1:1", "--nats-cert", "c.pem"},
	} {
		if code, _, stderr := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", args, code, stderr)
		}
	}
	p := startBinary(t, "-p", strconv.Itoa(freePort(t)), "-i", "127.0.0.1", "--nats-url", "nats://127.0.0.1:"+strconv.Itoa(freePort(t)))
	if code := p.wait(); code != 1 {
		t.Fatalf("exit %d with no NATS to reach, want 1", code)
	}
	if !strings.Contains(p.stderr.String(), "nats") {
		t.Fatalf("no word of NATS in %s", p.stderr.String())
	}
}

// TestNodeEnvironmentFileNamesOnlyFlags checks deploy/cluster's per-node
// environment file against the flags, as TestEnvironmentFileNamesOnlyFlags
// does deploy/redrtc.env.
func TestNodeEnvironmentFileNamesOnlyFlags(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile("../../deploy/cluster/redrtc-node.env")
	if err != nil {
		t.Fatal(err)
	}
	known := flagVariables(t)
	known[natsTokenEnv] = true
	assignment := regexp.MustCompile(`^#?(REDRTC_[A-Z_]+)=`)
	found := 0
	for line := range strings.Lines(string(text)) {
		if m := assignment.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			found++
			if !known[m[1]] {
				t.Errorf("deploy/cluster/redrtc-node.env names %s, which is no flag's variable", m[1])
			}
		}
	}
	if found == 0 {
		t.Fatal("deploy/cluster/redrtc-node.env sets nothing")
	}
}
