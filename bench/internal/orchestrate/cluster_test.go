package orchestrate

import (
	"context"
	"testing"
	"time"

	"github.com/redrtc/redrtc/bench/internal/layout"
	"github.com/redrtc/redrtc/bench/internal/target"
)

// TestClusterScenarios runs the cluster's idle and relay, small and short,
// on three RedRTC nodes and a real nats-server process (make nats-server;
// skipped without one): every client joins across nodes, and every
// same-node and cross-node message arrives exactly once.
func TestClusterScenarios(t *testing.T) {
	root, err := target.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	natsBin, err := target.FindNATS(root, "")
	if err != nil {
		t.Skip(err)
	}
	k := kindFor(t, "RedRTC")
	if !target.HelpMentions(k.Binary, "--nats-url") {
		t.Skip("this RedRTC has no --nats-url")
	}
	lim, cfg := smallRun(t)
	cfg.MinWorkers = 2
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := &runner{cfg: cfg, limits: lim, logDir: t.TempDir(), runID: "t", logf: t.Logf}
	c := clusterRun{runner: r, k: k, natsBin: natsBin, nodes: 3}

	ir := c.idle(ctx, 60)
	if ir.Err != "" || ir.Joined != 60 || len(ir.Nodes) != 3 {
		t.Fatalf("idle: %+v", ir)
	}
	// 10 rooms of 6, each 3 + 3 on two nodes: the layout's share of
	// clients and rooms on each node (18, 21, 21 clients; 6, 7, 7 rooms).
	clients := make([]int, 3)
	for g := 0; g < 60; g++ {
		clients[layout.NodeOf(g, 6, 3)]++
	}
	rooms := layout.NodeRooms(60, 6, 3)
	for i, n := range ir.Nodes {
		if n.Clients != clients[i] || n.Rooms != rooms[i] || n.RSSJoinedKB == 0 || n.OpenFiles < clients[i] {
			t.Errorf("idle: %s holds %d clients in %d rooms (want %d in %d), RSS %d KiB, %d open files", n.Name, n.Clients, n.Rooms, clients[i], rooms[i], n.RSSJoinedKB, n.OpenFiles)
		}
	}
	if ir.WorkerOpenFiles < 30 {
		t.Errorf("idle: the largest worker held %d open files, want 30 clients' at least", ir.WorkerOpenFiles)
	}
	if ir.NATS.RSSJoinedKB == 0 {
		t.Error("idle: no nats-server RSS")
	}

	rs := c.relay(ctx, 60)
	if len(rs) != 4 {
		t.Fatalf("relay: %d measurements, want same-node and cross-node at each of 2 modes", len(rs))
	}
	for _, x := range rs {
		if x.Err != "" || !x.ExactlyOnce || x.Received == 0 || len(x.NodeCPUSec) != 3 {
			t.Errorf("relay %s %s: err %q, exactly once %v, %d/%d, %d node CPU readings", x.Pairs, x.Mode, x.Err, x.ExactlyOnce, x.Received, x.Sent, len(x.NodeCPUSec))
		}
	}
}
