package orchestrate

import (
	"context"
	"testing"
	"time"

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
	for _, n := range ir.Nodes {
		if n.Clients != 20 || n.RSSJoinedKB == 0 || n.OpenFiles < 20 {
			t.Errorf("idle: %s holds %d clients (want 20), RSS %d KiB, %d open files", n.Name, n.Clients, n.RSSJoinedKB, n.OpenFiles)
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
