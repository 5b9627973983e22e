package admin

import "github.com/prometheus/client_golang/prometheus"

// ClusterCounts is what a node of a cluster counts of it (docs/cluster.md);
// Counts.Cluster is nil on a lone server, and these series are absent.
type ClusterCounts struct {
	Connected                         bool
	Nodes, RemoteMembers              int
	RelayedOut, BatchesOut, RelayedIn uint64
	DroppedIn, RelaysLost             uint64
	NodeLosses, SlowConsumer          uint64
}

var (
	mNATSConnected = family("redrtc_cluster_nats_connected", "1 while this node is connected to NATS, else 0.", prometheus.GaugeValue)
	mNodes         = family("redrtc_cluster_nodes", "Nodes this node hears from, itself included.", prometheus.GaugeValue)
	mRemoteMembers = family("redrtc_cluster_remote_members", "Members on other nodes of rooms that have a member on this node.", prometheus.GaugeValue)
	mRelayedOut    = family("redrtc_cluster_relayed_out_total", "Messages relayed to members on other nodes.", prometheus.CounterValue)
	mBatchesOut    = family("redrtc_cluster_batches_out_total", "NATS messages that carried the relays to other nodes (a batch each).", prometheus.CounterValue)
	mRelayedIn     = family("redrtc_cluster_relayed_in_total", "Messages other nodes relayed to this node's clients.", prometheus.CounterValue)
	mDroppedIn     = family("redrtc_cluster_dropped_in_total", "Relays from other nodes whose target had left the room or the node.", prometheus.CounterValue)
	mRelaysLost    = family("redrtc_cluster_relays_lost_total", "Relays to other nodes that could not be published (NATS lost); their senders got cluster-unavailable.", prometheus.CounterValue)
	mNodeLosses    = family("redrtc_cluster_node_losses_total", "Nodes this node took for lost (silent for --node-timeout) and freed the seats of.", prometheus.CounterValue)
	mNATSSlow      = family("redrtc_cluster_nats_slow_consumer_total", "Times NATS reported this node falling behind its subscriptions.", prometheus.CounterValue)
)

var clusterMetrics = []metric{
	mNATSConnected, mNodes, mRemoteMembers, mRelayedOut, mBatchesOut, mRelayedIn, mDroppedIn, mRelaysLost, mNodeLosses, mNATSSlow,
}

// collectCluster emits the cluster's series.
func collectCluster(ch chan<- prometheus.Metric, c *ClusterCounts) {
	one := func(m metric, v float64) { ch <- prometheus.MustNewConstMetric(m.desc, m.kind, v) }
	connected := 0.0
	if c.Connected {
		connected = 1
	}
	one(mNATSConnected, connected)
	one(mNodes, float64(c.Nodes))
	one(mRemoteMembers, float64(c.RemoteMembers))
	one(mRelayedOut, float64(c.RelayedOut))
	one(mBatchesOut, float64(c.BatchesOut))
	one(mRelayedIn, float64(c.RelayedIn))
	one(mDroppedIn, float64(c.DroppedIn))
	one(mRelaysLost, float64(c.RelaysLost))
	one(mNodeLosses, float64(c.NodeLosses))
	one(mNATSSlow, float64(c.SlowConsumer))
}
