package results

import (
	"testing"
	"time"

	"github.com/redrtc/redrtc/bench/internal/target"
)

func TestClusterTable(t *testing.T) {
	relay := func(pairs, mode string, sent, recv int64, perMsg, nodes, nats float64) ClusterRelay {
		return ClusterRelay{Pairs: pairs, NodesCPUPerMsgUs: nodes, NATSCPUPerMsgUs: nats,
			RelayResult: RelayResult{Server: "RedRTC", Clients: 1200, Mode: mode, TargetRate: 10000, Sent: sent, Received: recv,
				ExactlyOnce: sent == recv, CPUPerMsgUs: perMsg}}
	}
	res := &Results{
		Timestamp: "2026-01-01T00:00:00Z",
		Settings:  Settings{RoomSize: 6, Rate: 10000, Window: 1024, Duration: time.Second},
		Servers:   []*target.Server{{Name: "RedRTC", Smoke: "pass"}},
		Cluster: &Cluster{Nodes: 2, NATSVersion: "nats-server: v2.15.3",
			Idle: []ClusterIdle{{Clients: 1200, Connected: 1200, Joined: 1200, PerClientJoinedKB: 2.5, WithNATSKB: 3,
				Nodes: []ProcMemory{{Name: "node1", Clients: 600, PerClientJoinedKB: 2.25}, {Name: "node2", Clients: 600, PerClientJoinedKB: 2.75}},
				NATS:  ProcMemory{Name: "nats-server", PerClientJoinedKB: 0.5}}},
			Relay: []ClusterRelay{
				relay("same-node", "rate", 10, 10, 20, 20, 0),
				relay("cross-node", "rate", 10, 9, 50, 35, 15),
			},
		},
	}
	tableHas(t, res,
		"| Figure | node1 | node2 | all nodes | nats-server |",
		"| RSS per client joined (KiB) | 2.25 | 2.75 | 2.50 (3.00 with NATS) | 0.50 |",
		"| Figure | same-node, @ 10,000/s | cross-node, @ 10,000/s |",
		"| server CPU per message, nodes + NATS (µs) | 20.00 | 50.00 |",
		"| … of which nats-server (µs) | 0.00 | 15.00 |",
		"| delivered exactly once | yes, 10/10 | NO: 9/10 received",
	)
	if !res.Failed() {
		t.Fatal("a cluster relay that lost a message did not fail the run")
	}
	res.Cluster.Relay = res.Cluster.Relay[:1]
	if res.Failed() {
		t.Fatal("a clean cluster run failed")
	}
}

// Each client count's relay measurements get a table of their own.
func TestClusterRelayTablePerLevel(t *testing.T) {
	r := func(n int) ClusterRelay {
		return ClusterRelay{Pairs: "cross-node", RelayResult: RelayResult{Clients: n, Mode: "max", Sent: 1, Received: 1, ExactlyOnce: true}}
	}
	res := &Results{Cluster: &Cluster{Nodes: 4, Relay: []ClusterRelay{r(1200), r(1200), r(6000)}}}
	tableHas(t, res, "### Relay, 1,200 clients\n\n| Figure | cross-node, max | cross-node, max |\n", "### Relay, 6,000 clients\n\n| Figure | cross-node, max |\n")
}
