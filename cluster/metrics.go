package cluster

import "sync/atomic"

// counters are the node's cluster counters; any goroutine adds to them.
type counters struct {
	relayedOut, batchesOut, relayedIn, droppedIn, relaysLost atomic.Uint64
	nodeLosses, slowConsumer                                 atomic.Uint64
}

// Stats is what the node's metrics show of the cluster (docs/cluster.md).
type Stats struct {
	Connected bool
	// Nodes is how many nodes this node hears, itself included.
	Nodes int
	// RemoteMembers is how many members of other nodes share a room with a
	// member of this one.
	RemoteMembers int
	// RelayedOut and RelayedIn count relays sent to and received from other
	// nodes; BatchesOut the NATS messages that carried RelayedOut.
	RelayedOut, BatchesOut, RelayedIn uint64
	// DroppedIn counts relays from other nodes whose target had left the
	// room or the node; RelaysLost relays that could not be published.
	DroppedIn, RelaysLost uint64
	// NodeLosses counts the nodes this node took for lost.
	NodeLosses uint64
	// SlowConsumer counts NATS's reports of this node falling behind.
	SlowConsumer uint64
}

// Stats reads the node's counters.
func (n *Node) Stats() Stats {
	return Stats{
		Connected: n.Connected(), Nodes: n.live.count() + 1, RemoteMembers: n.proxies.count(),
		RelayedOut: n.stats.relayedOut.Load(), BatchesOut: n.stats.batchesOut.Load(),
		RelayedIn: n.stats.relayedIn.Load(), DroppedIn: n.stats.droppedIn.Load(),
		RelaysLost: n.stats.relaysLost.Load(), NodeLosses: n.stats.nodeLosses.Load(),
		SlowConsumer: n.stats.slowConsumer.Load(),
	}
}
