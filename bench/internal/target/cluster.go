package target

// A RedRTC cluster on this machine: one nats-server and N RedRTC nodes,
// each a Process of its own on its own port, as make bench-cluster runs
// them.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// Cluster is a running nats-server and the nodes that share it.
type Cluster struct {
	NATS  *NATS
	Nodes []*Process
}

// NodeID is the --node-id of node i (from 0): node1, node2, ...
func NodeID(i int) string { return "node" + strconv.Itoa(i+1) }

// NodeArgs are the flags that put a RedRTC node in the cluster at natsURL.
func NodeArgs(natsURL string, i int) []string {
	return []string{"--nats-url", natsURL, "--node-id", NodeID(i)}
}

// StartCluster starts natsBin, then nodes RedRTC nodes of k, each for
// clients and rooms of its own, with k's flags and the cluster's.
func StartCluster(ctx context.Context, k *Server, natsBin string, nodes, clients, rooms int, logDir string) (*Cluster, error) {
	n, err := StartNATS(ctx, natsBin, logDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{NATS: n}
	for i := 0; i < nodes; i++ {
		nk := *k
		nk.Name = k.Name + "-" + NodeID(i)
		nk.Extra = append(slices.Clone(k.Extra), NodeArgs(n.ClientURL, i)...)
		p, err := Start(ctx, &nk, clients, rooms, logDir)
		if err != nil {
			c.Stop()
			return nil, fmt.Errorf("node %d of %d: %w", i+1, nodes, err)
		}
		c.Nodes = append(c.Nodes, p)
	}
	return c, nil
}

// Hosts are the nodes' host:port, in node order.
func (c *Cluster) Hosts() []string {
	var out []string
	for _, p := range c.Nodes {
		out = append(out, p.Host)
	}
	return out
}

// PIDs are the nodes' process ids, in node order, then nats-server's.
func (c *Cluster) PIDs() []int {
	var out []int
	for _, p := range c.Nodes {
		out = append(out, p.PID)
	}
	return append(out, c.NATS.PID)
}

// Dead names the first process that exited, with its log's end, or "".
func (c *Cluster) Dead() string {
	for i, p := range c.Nodes {
		if !p.Alive() {
			return fmt.Sprintf("%s exited during the run:\n%s", NodeID(i), p.LogTail())
		}
	}
	if !c.NATS.Alive() {
		return "nats-server exited during the run:\n" + c.NATS.LogTail()
	}
	return ""
}

// Stop stops the nodes, all at once, then nats-server.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for _, p := range c.Nodes {
		wg.Go(p.Stop)
	}
	wg.Wait()
	c.NATS.Stop()
}
