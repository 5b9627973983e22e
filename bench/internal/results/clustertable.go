package results

// The Markdown of a cluster run: idle memory with a column per node and
// one for NATS, relay with a column per measurement (pairs × rate).

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/redrtc/redrtc/bench/internal/numfmt"
)

func writeClusterMarkdown(w io.Writer, res *Results) {
	cl, m, c := res.Cluster, res.Machine, res.Settings
	fmt.Fprintf(w, "## RedRTC cluster benchmark — %s\n\n", res.Timestamp)
	fmt.Fprintf(w, "Machine: %s, %d cores, %d MiB, %s, %s. Open files: %d per process (hard), so a node holds at most %s clients. Ceiling: %s clients (%s).\n\n",
		m.CPU, m.Cores, m.MemoryMB, m.Kernel, m.GoVersion, res.Limits.NoFileHard, numfmt.Commas(res.Limits.ServerMax), numfmt.Commas(res.Limits.Ceiling), res.Limits.CeilingBy)
	fmt.Fprintf(w, "Cluster: %d RedRTC node(s) and one nats-server (%s, JetStream on), all on loopback, started fresh for every scenario. "+
		"Clients are spread evenly over the nodes, as by a round-robin balancer, and every room of %d takes its members from %s (%s); the pairs of nodes come in turn, so every node shares rooms with every other and holds about %s of the rooms. "+
		"Relay: %v measured after %v warm-up, at %s msgs/s then as fast as %s messages in flight allow, once with only same-node pairs of room-mates sending and once with only cross-node pairs; "+
		"server CPU is every node's and nats-server's utime+stime together, and each is also shown alone.\n\n",
		cl.Nodes, orDash(cl.NATSVersion), c.RoomSize, roomNodesText(cl.Nodes), roomSplitText(cl.Nodes, c.RoomSize), roomShareText(cl.Nodes), c.Duration, c.Warmup, fmtNum(c.Rate, 0), numfmt.Commas(c.Window))
	for _, k := range res.Servers {
		args := ""
		if len(k.Extra) > 0 {
			args = ", started with " + strings.Join(k.Extra, " ") + " --nats-url URL --node-id nodeK"
		}
		fmt.Fprintf(w, "- %s: %s%s; protocol smoke test: %s\n", k.Name, orDash(k.Version), args, k.Smoke)
	}
	fmt.Fprintf(w, "- nats-server: %s\n\n", cl.NATSBinary)
	for _, x := range cl.Idle {
		writeClusterIdle(w, x)
	}
	for i := 0; i < len(cl.Relay); {
		j := i + 1
		for j < len(cl.Relay) && cl.Relay[j].Clients == cl.Relay[i].Clients {
			j++
		}
		writeClusterRelay(w, cl.Relay[i:j]) // one level's measurements
		i = j
	}
	fmt.Fprintln(w, "RSS per client = (VmRSS joined − VmRSS empty) / the node's clients (NATS: / all clients). CPU = utime+stime from /proc/PID/stat over the measured window. "+
		"Latency = receive time − send time embedded in each message. Exactly once: every message sent was received once, by its target, from its sender, and nothing else arrived.")
	for _, n := range res.Notes {
		fmt.Fprintf(w, "\nNote: %s\n", n)
	}
	writeClusterProblems(w, cl)
}

// roomNodesText, roomSplitText and roomShareText describe the layout
// (internal/layout) of rooms of size over nodes nodes.
func roomNodesText(nodes int) string {
	if nodes < 2 {
		return "the one node"
	}
	return "two nodes"
}

func roomSplitText(nodes, size int) string {
	if nodes < 2 {
		return fmt.Sprintf("all %d on it", size)
	}
	return fmt.Sprintf("%d + %d, alternating", (size+1)/2, size/2)
}

func roomShareText(nodes int) string {
	if nodes <= 2 {
		return "all"
	}
	return fmt.Sprintf("2/%d", nodes)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func mib(kb int64) string { return fmtNum(float64(kb)/1024, 1) }

func writeClusterIdle(w io.Writer, x ClusterIdle) {
	fmt.Fprintf(w, "### Idle, %s clients: %s connected at %s/s, %s joined in %s s\n\n",
		numfmt.Commas(x.Clients), numfmt.Commas(x.Connected), fmtNum(x.ConnectRate, 0), numfmt.Commas(x.Joined), fmtNum(x.JoinSeconds, 2))
	header, sep := "| Figure |", "|---|"
	for _, n := range x.Nodes {
		header += " " + n.Name + " |"
		sep += "---:|"
	}
	fmt.Fprintln(w, header+" all nodes | nats-server |")
	fmt.Fprintln(w, sep+"---:|---:|")
	line := func(figure string, node func(p ProcMemory) string, all, nats string) {
		s := "| " + figure + " |"
		for _, n := range x.Nodes {
			s += " " + node(n) + " |"
		}
		fmt.Fprintln(w, s+" "+all+" | "+nats+" |")
	}
	var sum ProcMemory
	for _, n := range x.Nodes {
		sum.Clients += n.Clients
		sum.Rooms = max(sum.Rooms, n.Rooms)
		sum.RSSEmptyKB += n.RSSEmptyKB
		sum.RSSJoinedKB += n.RSSJoinedKB
		sum.RSSLeftKB += n.RSSLeftKB
		sum.RSSClosedKB += n.RSSClosedKB
	}
	line("clients (its /healthz)", func(p ProcMemory) string { return numfmt.Commas(p.Clients) }, numfmt.Commas(sum.Clients), "—")
	line("rooms with a member on it (its /healthz)", func(p ProcMemory) string { return numfmt.Commas(p.Rooms) }, "—", "—")
	line("open files, joined", func(p ProcMemory) string { return numfmt.Commas(p.OpenFiles) },
		"load generator: "+numfmt.Commas(x.WorkerOpenFiles)+" in its largest process", numfmt.Commas(x.NATS.OpenFiles))
	line("RSS empty (MiB)", func(p ProcMemory) string { return mib(p.RSSEmptyKB) }, mib(sum.RSSEmptyKB), mib(x.NATS.RSSEmptyKB))
	line("RSS joined (MiB)", func(p ProcMemory) string { return mib(p.RSSJoinedKB) }, mib(sum.RSSJoinedKB), mib(x.NATS.RSSJoinedKB))
	line("RSS per client joined (KiB)", func(p ProcMemory) string { return fmtNum(p.PerClientJoinedKB, 2) },
		fmtNum(x.PerClientJoinedKB, 2)+" ("+fmtNum(x.WithNATSKB, 2)+" with NATS)", fmtNum(x.NATS.PerClientJoinedKB, 2))
	line("RSS after leave-room (MiB)", func(p ProcMemory) string { return mib(p.RSSLeftKB) }, mib(sum.RSSLeftKB), mib(x.NATS.RSSLeftKB))
	line("RSS after disconnect (MiB)", func(p ProcMemory) string { return mib(p.RSSClosedKB) }, mib(sum.RSSClosedKB), mib(x.NATS.RSSClosedKB))
	fmt.Fprintln(w)
}

func writeClusterRelay(w io.Writer, rs []ClusterRelay) {
	header, sep := "| Figure |", "|---|"
	for _, x := range rs {
		name := x.Pairs + ", "
		if x.Mode == "rate" {
			name += "@ " + fmtNum(x.TargetRate, 0) + "/s"
		} else {
			name += "max"
		}
		header += " " + name + " |"
		sep += "---:|"
	}
	fmt.Fprintf(w, "### Relay, %s clients\n\n%s\n%s\n", numfmt.Commas(rs[0].Clients), header, sep)
	line := func(figure string, f func(x ClusterRelay) string) {
		s := "| " + figure + " |"
		for _, x := range rs {
			if x.Err != "" && x.Sent == 0 {
				s += " error |"
				continue
			}
			s += " " + f(x) + " |"
		}
		fmt.Fprintln(w, s)
	}
	f := func(v float64, d int) string { return fmtNum(v, d) }
	line("senders", func(x ClusterRelay) string { return numfmt.Commas(x.Senders) })
	line("offered msgs/s", func(x ClusterRelay) string { return f(x.OfferedRate, 0) })
	line("delivered msgs/s", func(x ClusterRelay) string { return f(x.DeliveredRate, 0) })
	line("latency p50 (ms)", func(x ClusterRelay) string { return f(x.P50us/1000, 3) })
	line("latency p99 (ms)", func(x ClusterRelay) string { return f(x.P99us/1000, 3) })
	line("latency p99.9 (ms)", func(x ClusterRelay) string { return f(x.P999us/1000, 3) })
	line("server CPU per message, nodes + NATS (µs)", func(x ClusterRelay) string { return f(x.CPUPerMsgUs, 2) })
	line("… of which the nodes (µs)", func(x ClusterRelay) string { return f(x.NodesCPUPerMsgUs, 2) })
	line("… of which nats-server (µs)", func(x ClusterRelay) string { return f(x.NATSCPUPerMsgUs, 2) })
	line("server CPU, nodes + NATS (% of one core)", func(x ClusterRelay) string { return f(x.ServerCPUPct, 0) })
	line("nats-server CPU (% of one core)", func(x ClusterRelay) string {
		if x.Seconds <= 0 {
			return "—"
		}
		return f(100*x.NATSCPUSec/x.Seconds, 0)
	})
	line("load generator CPU (% of one core)", func(x ClusterRelay) string { return f(x.LoadgenCPUPct, 0) })
	line("other processes' CPU (% of one core)", func(x ClusterRelay) string { return f(x.OtherCPUPct, 0) })
	line("nats-server RSS (MiB)", func(x ClusterRelay) string { return mib(x.NATSRSSKB) })
	line("delivered exactly once", func(x ClusterRelay) string {
		if x.ExactlyOnce {
			return "yes, " + numfmt.Commas(int(x.Received)) + "/" + numfmt.Commas(int(x.Sent))
		}
		return fmt.Sprintf("NO: %s/%s received, %d dup, %d phantom, %d misattributed, %d stale, %d malformed",
			numfmt.Commas(int(x.Received)), numfmt.Commas(int(x.Sent)), x.Duplicates, x.Phantom, x.Misattributed, x.Stale, x.Malformed)
	})
	fmt.Fprintln(w)
}

// writeClusterProblems lists every error and anomaly of a cluster run.
func writeClusterProblems(w io.Writer, cl *Cluster) {
	var lines []string
	addMap := func(prefix string, m map[string]int) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			lines = append(lines, fmt.Sprintf("%s: %s × %d", prefix, k, m[k]))
		}
	}
	for _, x := range cl.Idle {
		p := "cluster idle " + numfmt.Commas(x.Clients)
		if x.Err != "" {
			lines = append(lines, p+": ERROR "+x.Err)
		}
		addMap(p, x.Failures)
		addMap(p+" error event", x.ServerErrors)
	}
	for _, x := range cl.Relay {
		p := fmt.Sprintf("cluster relay %s %s %s", x.Pairs, x.Mode, numfmt.Commas(x.Clients))
		if x.Err != "" {
			lines = append(lines, p+": ERROR "+x.Err)
		}
		if x.Mode == "rate" && x.Sent > 0 && x.OfferedRate < 0.97*x.TargetRate {
			lines = append(lines, fmt.Sprintf("%s: offered %.0f msgs/s, short of the %.0f asked", p, x.OfferedRate, x.TargetRate))
		}
		if x.OtherCPUPct > disturbedPct {
			lines = append(lines, fmt.Sprintf("%s: other processes used %.0f%% of a core during the measurement: these figures are disturbed", p, x.OtherCPUPct))
		}
		addMap(p, x.Failures)
		addMap(p+" error event", x.ServerErrors)
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(w, "\nProblems:")
	for _, l := range lines {
		fmt.Fprintf(w, "- %s\n", strings.ReplaceAll(l, "\n", " "))
	}
}
