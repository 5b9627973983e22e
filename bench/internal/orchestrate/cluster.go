package orchestrate

// A cluster run (make bench-cluster, -cluster N): N RedRTC nodes sharing a
// real nats-server, on this machine, each node under the per-process
// open-files limit, the clients spread over them round-robin; the idle and
// relay scenarios at each level (-n by default).

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redrtc/redrtc/bench/internal/layout"
	"github.com/redrtc/redrtc/bench/internal/limits"
	"github.com/redrtc/redrtc/bench/internal/numfmt"
	"github.com/redrtc/redrtc/bench/internal/results"
	"github.com/redrtc/redrtc/bench/internal/target"
	"github.com/redrtc/redrtc/internal/conformance"
)

// runCluster is Run for -cluster.
func runCluster(f *flags, args []string, stdout, stderr io.Writer) int {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), f.deadline)
	defer cancel()
	ctx, stopSignals := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stopSignals()
	logf := func(format string, a ...any) {
		if !f.quiet {
			fmt.Fprintf(stderr, "[%6.1fs] %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, a...))
		}
	}
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return code
	}
	limits.RaiseNoFile()
	nodes := f.cluster
	cl := &results.Cluster{Nodes: nodes}
	res := &results.Results{
		Timestamp: began.UTC().Format(time.RFC3339),
		Machine:   results.MachineInfo(),
		Command:   strings.TrimSpace("bench " + strings.Join(args, " ")),
		Cluster:   cl,
	}
	note := func(msg string) {
		fmt.Fprintf(stderr, "bench: %s\n", msg)
		res.Notes = append(res.Notes, msg)
	}

	lim, err := limits.ReadCluster(f.srcIPs, nodes)
	if err != nil {
		return fail(1, err)
	}
	res.Limits = lim
	n, capMsg := lim.CapClients(f.n)
	if capMsg != "" {
		note(capMsg)
	}
	levels, err := resolveLevels(f.levels, n)
	if err != nil {
		return fail(2, err)
	}
	f.cfg.Levels = levels
	if top := levels[len(levels)-1]; clusterJoiners(top, f.cfg.RoomSize, nodes) < top {
		j := clusterJoiners(top, f.cfg.RoomSize, nodes)
		note(fmt.Sprintf("--rooms accepts at most %d per node, and each room of %d has members on %d node(s), so only %s of %s clients can be in rooms; the rest stay connected without a room.",
			limits.ProtocolMaxRooms, f.cfg.RoomSize, min(nodes, 2, f.cfg.RoomSize), numfmt.Commas(j), numfmt.Commas(top)))
	}
	if nodes >= 2 && f.cfg.RoomSize < 3 {
		note(fmt.Sprintf("with rooms of %d, each over two nodes, no two room-mates share a node: there are no same-node pairs to relay between.", f.cfg.RoomSize))
	}
	res.Settings = f.cfg
	if len(lim.SrcIPs) > 0 {
		logf("limits: open files %d (hard %d), %s clients per node, ceiling %s, source addresses %s-%s",
			lim.NoFileSoft, lim.NoFileHard, numfmt.Commas(lim.ServerMax), numfmt.Commas(lim.Ceiling), lim.SrcIPs[0], lim.SrcIPs[len(lim.SrcIPs)-1])
	}

	root, rootErr := target.RepoRoot()
	outDir := f.outDir
	if outDir == "" {
		if rootErr != nil {
			return fail(1, fmt.Errorf("%v; use -out", rootErr))
		}
		outDir = filepath.Join(root, "bench", "results")
	}
	cl.NATSBinary, err = target.FindNATS(root, f.natsBin)
	if err != nil {
		return fail(1, err)
	}
	cl.NATSVersion = target.VersionOf(cl.NATSBinary)
	tmp, err := os.MkdirTemp("", "redrtc-bench-")
	if err != nil {
		return fail(1, err)
	}
	defer os.RemoveAll(tmp)
	kinds, err := localServers(ctx, f, root, rootErr, tmp, logf)
	if err != nil {
		return fail(1, err)
	}
	k := kinds[0]
	res.Servers = kinds
	if !target.HelpMentions(k.Binary, "--nats-url") {
		return fail(1, fmt.Errorf("%s (%s) has no --nats-url flag: it predates RedRTC's cluster mode", k.Binary, orUnknown(k.Version)))
	}
	logf("%d nodes of %s, %s", nodes, orUnknown(k.Version), cl.NATSVersion)

	if f.noSmoke {
		k.Smoke = "skipped"
	} else {
		k.Smoke = "pass"
		if err := checkClusterConformance(ctx, k, cl.NATSBinary, nodes, tmp); err != nil {
			k.Smoke = "FAIL: " + err.Error()
			fmt.Fprintf(stderr, "bench: a %d-node cluster fails the protocol smoke test: %v\n", nodes, err)
			results.WriteOutputs(res, outDir, stdout, stderr, began)
			return 1
		}
		logf("node 1 of a %d-node cluster passes the protocol smoke test", nodes)
	}

	r := &runner{cfg: f.cfg, limits: lim, logDir: tmp, runID: strconv.FormatInt(began.Unix()%100000, 36), logf: logf}
	c := clusterRun{runner: r, k: k, natsBin: cl.NATSBinary, nodes: nodes}
	aborted := func() bool {
		if ctx.Err() == nil {
			return false
		}
		if !res.Incomplete {
			res.Incomplete = true
			note(fmt.Sprintf("stopped after %v (-deadline %v or a signal): the figures below are those measured so far.",
				time.Since(began).Round(time.Second), f.deadline))
		}
		return true
	}
	for _, lv := range levels {
		if hasScenario(f, "idle") {
			if aborted() {
				break
			}
			logf("idle: %d nodes, %s clients", nodes, numfmt.Commas(lv))
			ir := c.idle(ctx, lv)
			cl.Idle = append(cl.Idle, ir)
			logf("  connected %s at %.0f/s, %.2f KiB/client joined over the nodes (%.2f with NATS)%s",
				numfmt.Commas(ir.Connected), ir.ConnectRate, ir.PerClientJoinedKB, ir.WithNATSKB, errSuffix(ir.Err))
		}
		if hasScenario(f, "relay") {
			if aborted() {
				break
			}
			logf("relay: %d nodes, %s clients", nodes, numfmt.Commas(lv))
			for _, rr := range c.relay(ctx, lv) {
				cl.Relay = append(cl.Relay, rr)
				logf("  %s %s: delivered %.0f msgs/s, p99 %.2f ms, %.2f µs CPU/msg (nodes %.2f, NATS %.2f), exactly once %v%s",
					rr.Pairs, rr.Mode, rr.DeliveredRate, rr.P99us/1000, rr.CPUPerMsgUs, rr.NodesCPUPerMsgUs, rr.NATSCPUPerMsgUs, rr.ExactlyOnce, errSuffix(rr.Err))
			}
		}
	}
	aborted()
	results.WriteOutputs(res, outDir, stdout, stderr, began)
	if res.Incomplete || res.Failed() {
		return 1
	}
	return 0
}

func hasScenario(f *flags, s string) bool { return slices.Contains(f.cfg.Scenarios, s) }

func orUnknown(v string) string {
	if v == "" {
		return "version unknown"
	}
	return v
}

// checkClusterConformance runs the protocol conformance suite against node
// 1 of a fresh cluster of nodes.
func checkClusterConformance(ctx context.Context, k *target.Server, natsBin string, nodes int, tmp string) error {
	c, err := target.StartCluster(ctx, k, natsBin, nodes, 64, 16, tmp)
	if err != nil {
		return err
	}
	defer c.Stop()
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return conformance.Run(sctx, c.Nodes[0].URL)
}

// pairSets are the relay's measurements of a cluster, each at every mode.
var pairSets = []layout.PairSet{layout.SameNode, layout.CrossNode}
