package cluster

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Every node says it is alive on <name>.hb a few times per --node-timeout;
// a node none of whose heartbeats arrived for --node-timeout is lost, and
// every node that notices frees its members' seats (idempotent: the first
// write takes them out, the others find them gone). A node that only
// appears in a room, never heard, is given --node-timeout from when it was
// first seen: it may have died while this node was away.
//
// While this node has no NATS connection it judges nobody: it cannot tell
// a lost node from its own loss. When NATS returns, every node it knew
// gets a fresh --node-timeout.

// heartbeatsPerTimeout is how many heartbeats a node sends per
// --node-timeout: missing one or two is not a loss.
const heartbeatsPerTimeout = 5

type liveness struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (l *liveness) init() { l.last = make(map[string]time.Time) }

// heard records a heartbeat of node.
func (l *liveness) heard(node string, now time.Time) {
	l.mu.Lock()
	l.last[node] = now
	l.mu.Unlock()
}

// saw records node, met in a room, if it was never heard.
func (l *liveness) saw(node string) {
	l.mu.Lock()
	if _, ok := l.last[node]; !ok {
		l.last[node] = time.Now()
	}
	l.mu.Unlock()
}

// restart gives every known node a fresh timeout.
func (l *liveness) restart() {
	now := time.Now()
	l.mu.Lock()
	for node := range l.last {
		l.last[node] = now
	}
	l.mu.Unlock()
}

// lost removes and returns the nodes silent since before deadline.
func (l *liveness) lost(deadline time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var gone []string
	for node, t := range l.last {
		if t.Before(deadline) {
			gone = append(gone, node)
			delete(l.last, node)
		}
	}
	return gone
}

// forget drops node.
func (l *liveness) forget(node string) {
	l.mu.Lock()
	delete(l.last, node)
	l.mu.Unlock()
}

// alive reports whether node is heard, or seen and not yet given up on.
func (l *liveness) alive(node string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.last[node]
	return ok
}

func (l *liveness) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.last)
}

// byeIn forgets a node that left the cluster on purpose (Close): it is not
// counted as lost.
func (n *Node) byeIn(msg *nats.Msg) {
	if node := string(msg.Data); node != n.cfg.NodeID && validID.MatchString(node) {
		n.live.forget(node)
		// Its members left as it stopped; any whose leave it could not
		// write leave now.
		n.dropSeats(node)
	}
}

func (n *Node) heartbeatIn(msg *nats.Msg) {
	if node := string(msg.Data); node != n.cfg.NodeID && validID.MatchString(node) {
		n.live.heard(node, time.Now())
	}
}

// heartbeats sends this node's heartbeats and looks for lost nodes.
func (n *Node) heartbeats() {
	every := n.cfg.NodeTimeout / heartbeatsPerTimeout
	tick := time.NewTicker(every)
	defer tick.Stop()
	beat := []byte(n.cfg.NodeID)
	for {
		if n.Connected() {
			if err := n.nc.Publish(n.cfg.Name+".hb", beat); err != nil {
				n.log.Debug().Err(err).Msg("heartbeat")
			}
			for _, node := range n.live.lost(time.Now().Add(-n.cfg.NodeTimeout)) {
				n.nodeLost(node)
			}
			n.view.prune(time.Now().Add(-time.Minute))
		}
		select {
		case <-tick.C:
		case <-n.ctx.Done():
			return
		}
	}
}

// nodeLost frees the seats of a lost node's members.
func (n *Node) nodeLost(node string) {
	n.stats.nodeLosses.Add(1)
	n.log.Warn().Str("lost", node).Dur("silent", n.cfg.NodeTimeout).Msg("a node is lost: its members leave their rooms")
	n.dropSeats(node)
}

// dropSeats frees the seats of node's members.
func (n *Node) dropSeats(node string) {
	for _, room := range n.view.roomsOf(node) {
		n.push(job{kind: jobDropNode, room: room, node: node})
	}
}
