package orchestrate

// The cluster run's scenarios, each on a fresh cluster: idle (memory of
// every node and of nats-server, joined, after leave-room, after
// disconnect) and relay (same-node pairs, then cross-node pairs, at the
// fixed rate and as fast as possible, CPU of every node and nats-server).

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redrtc/redrtc/bench/internal/ipc"
	"github.com/redrtc/redrtc/bench/internal/layout"
	"github.com/redrtc/redrtc/bench/internal/limits"
	"github.com/redrtc/redrtc/bench/internal/procfs"
	"github.com/redrtc/redrtc/bench/internal/results"
	"github.com/redrtc/redrtc/bench/internal/target"
)

// clusterRun runs scenarios on clusters of nodes nodes of k.
type clusterRun struct {
	*runner
	k       *target.Server
	natsBin string
	nodes   int
}

// start starts a cluster sized for n clients: each node gets --clients for
// its share, and --rooms for the rooms with a member on it (layout: each
// room is on two nodes), the most any node has, plus some slack.
func (c clusterRun) start(ctx context.Context, n int) (*target.Cluster, error) {
	perNode := (n + c.nodes - 1) / c.nodes
	rooms := min(limits.ProtocolMaxRooms, slices.Max(layout.NodeRooms(c.joinersFor(n), c.cfg.RoomSize, c.nodes))+64)
	return target.StartCluster(ctx, c.k, c.natsBin, c.nodes, c.clientsFor(perNode), rooms, c.logDir)
}

// joinersFor is how many of n clients can be in rooms with no node over
// --rooms' maximum (the single-server bench's joinersFor counts every
// room; a node counts only the rooms with a member on it).
func (c clusterRun) joinersFor(n int) int {
	return clusterJoiners(n, c.cfg.RoomSize, c.nodes)
}

func clusterJoiners(n, roomSize, nodes int) int {
	return layout.Joiners(n, roomSize, nodes, limits.ProtocolMaxRooms)
}

// connectAndJoin brings n clients into their rooms through the nodes of cl.
func (c clusterRun) connectAndJoin(ctx context.Context, cl *target.Cluster, n int) (*pool, ipc.Report, ipc.Report, error) {
	base := c.workerBase(cl.Nodes[0], c.joinersFor(n))
	base.Hosts = cl.Hosts()
	return c.connectAndJoinWith(ctx, base, n)
}

// idle measures n clients connecting, joining, leaving and disconnecting.
func (c clusterRun) idle(ctx context.Context, n int) (res results.ClusterIdle) {
	res.Clients = n
	cl, err := c.start(ctx, n)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer cl.Stop()
	procs := append(cl.Nodes[:len(cl.Nodes):len(cl.Nodes)], cl.NATS.Process)
	mem := make([]results.ProcMemory, len(procs))
	for i := range procs {
		mem[i].Name = target.NodeID(i)
	}
	mem[len(mem)-1].Name = "nats-server"
	read := func(set func(m *results.ProcMemory, kb int64)) {
		for i, p := range procs {
			set(&mem[i], rssOf(p))
		}
	}
	settle(ctx, c.cfg.Settle)
	read(func(m *results.ProcMemory, kb int64) { m.RSSEmptyKB = kb })

	pl, conn, join, err := c.connectAndJoin(ctx, cl, n)
	res.Connected, res.Joined = conn.Done, join.Done
	if conn.LastNs > conn.StartNs {
		res.ConnectSeconds = float64(conn.LastNs-conn.StartNs) / 1e9
		res.ConnectRate = float64(conn.Done) / res.ConnectSeconds
	}
	if join.LastNs > join.StartNs {
		res.JoinSeconds = float64(join.LastNs-join.StartNs) / 1e9
	}
	fails := conn.Clone()
	fails.Merge(join)
	defer func() {
		res.Failures, res.ServerErrors = fails.Reasons, fails.Errors
		res.Nodes, res.NATS = mem[:len(cl.Nodes)], mem[len(cl.Nodes)]
		if dead := cl.Dead(); dead != "" {
			res.Err = dead
		}
	}()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer pl.stop()
	if conn.Failed > 0 || join.Failed > 0 {
		res.Err = fmt.Sprintf("only %d of %d clients connected and %d joined", conn.Done, n, join.Done)
	}
	settle(ctx, c.cfg.Settle)
	read(func(m *results.ProcMemory, kb int64) { m.RSSJoinedKB = kb })
	for i, p := range cl.Nodes {
		if h, err := p.Health(); err == nil {
			mem[i].Clients, mem[i].Rooms = h.Clients, h.Rooms
		}
	}
	for i, p := range procs {
		mem[i].OpenFiles, _ = procfs.OpenFiles(p.PID)
	}
	for _, w := range pl.workers {
		n, _ := procfs.OpenFiles(w.cmd.Process.Pid)
		res.WorkerOpenFiles = max(res.WorkerOpenFiles, n)
	}

	timeout := c.stepTimeout(n)
	for _, step := range []struct {
		op  string
		set func(m *results.ProcMemory, kb int64)
	}{
		{"leave", func(m *results.ProcMemory, kb int64) { m.RSSLeftKB = kb }},
		{"close", func(m *results.ProcMemory, kb int64) { m.RSSClosedKB = kb }},
	} {
		rep, err := pl.all(ctx, ipc.Command{Op: step.op, TimeoutNs: int64(timeout)}, timeout+30*time.Second)
		fails.Merge(rep)
		if err != nil && res.Err == "" {
			res.Err = err.Error()
		}
		settleMemory(ctx, c.cfg.Settle, procs...)
		read(step.set)
	}
	perClient(mem, res.Connected, &res)
	return res
}

// perClient fills in the memory per client: each node's over its own
// clients (its /healthz's count, or an even share), NATS's and the total
// over all connected clients.
func perClient(mem []results.ProcMemory, connected int, res *results.ClusterIdle) {
	if connected == 0 {
		return
	}
	nodes := len(mem) - 1
	var growth int64
	for i := range mem[:nodes] {
		m := &mem[i]
		clients := m.Clients
		if clients == 0 {
			clients = connected / nodes
		}
		if clients > 0 && m.RSSEmptyKB > 0 {
			m.PerClientJoinedKB = float64(m.RSSJoinedKB-m.RSSEmptyKB) / float64(clients)
		}
		growth += m.RSSJoinedKB - m.RSSEmptyKB
	}
	nats := &mem[nodes]
	natsGrowth := nats.RSSJoinedKB - nats.RSSEmptyKB
	nats.PerClientJoinedKB = float64(natsGrowth) / float64(connected)
	res.PerClientJoinedKB = float64(growth) / float64(connected)
	res.WithNATSKB = float64(growth+natsGrowth) / float64(connected)
}

// relay measures relaying among n clients: same-node pairs, then
// cross-node pairs, at the fixed rate, then both as fast as possible.
func (c clusterRun) relay(ctx context.Context, n int) []results.ClusterRelay {
	var out []results.ClusterRelay
	fail := func(err error) []results.ClusterRelay {
		for _, m := range relayModes {
			for _, set := range pairSets {
				out = append(out, results.ClusterRelay{Pairs: set.String(),
					RelayResult: results.RelayResult{Server: c.k.Name, Clients: n, Mode: m.name, TargetRate: m.rate(c.cfg), Err: err.Error()}})
			}
		}
		return out
	}
	cl, err := c.start(ctx, n)
	if err != nil {
		return fail(err)
	}
	defer cl.Stop()
	pl, conn, join, err := c.connectAndJoin(ctx, cl, n)
	if err != nil {
		return fail(fmt.Errorf("%v (connect: %d/%d, join: %d/%d)", err, conn.Done, conn.Total, join.Done, join.Total))
	}
	defer pl.stop()
	for _, m := range relayModes {
		rate := m.rate(c.cfg)
		if m.name == "rate" && rate <= 0 {
			continue
		}
		for _, set := range pairSets {
			if ctx.Err() != nil {
				return out
			}
			if same, cross := layout.PairCounts(c.joinersFor(n), c.cfg.RoomSize, c.nodes); (set == layout.SameNode && same == 0) || (set == layout.CrossNode && cross == 0) {
				continue // no such pairs (noted at the start)
			}
			res := c.relayOnce(ctx, cl, pl, n, m.name, rate, m.window(c.cfg), set)
			if res.Err == "" && (conn.Failed > 0 || join.Failed > 0) {
				res.Err = fmt.Sprintf("only %d of %d clients connected and %d joined", conn.Done, n, join.Done)
			}
			out = append(out, res)
			if dead := cl.Dead(); dead != "" {
				out[len(out)-1].Err = dead
				return out
			}
		}
	}
	return out
}

// relayOnce is one relay measurement over the pairs of set, with the CPU
// of every node and of nats-server.
func (c clusterRun) relayOnce(ctx context.Context, cl *target.Cluster, pl *pool, n int, mode string, rate float64, window int, set layout.PairSet) results.ClusterRelay {
	ms, me := c.relayWindow()
	cpu := cpuSampler(cl.PIDs(), ms, me)
	rep, err := c.relaySend(ctx, pl, mode, rate, window, ms, me, set.String())
	w := waitCPU(cpu)
	res := results.ClusterRelay{RelayResult: c.relayFigures(n, mode, rate, window, rep, err), Pairs: set.String()}
	res.Server = c.k.Name
	c.cpuFigures(&res.RelayResult, w, rep)
	for _, p := range cl.Nodes {
		res.ServerRSSKB += rssOf(p)
	}
	res.NATSRSSKB = rssOf(cl.NATS.Process)
	if len(w.procs) == len(cl.Nodes)+1 {
		res.NodeCPUSec = w.procs[:len(cl.Nodes)]
		res.NATSCPUSec = w.procs[len(cl.Nodes)]
		if rep.Relay != nil && rep.Relay.RecvInWin > 0 {
			msgs := float64(rep.Relay.RecvInWin)
			res.NATSCPUPerMsgUs = res.NATSCPUSec * 1e6 / msgs
			res.NodesCPUPerMsgUs = (w.server - res.NATSCPUSec) * 1e6 / msgs
		}
	}
	return res
}
