package orchestrate

// The command line: the flags, their checks, and what they resolve to.

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redrtc/redrtc/bench/internal/limits"
	"github.com/redrtc/redrtc/bench/internal/results"
	"github.com/redrtc/redrtc/bench/internal/target"
)

// flags is the command line, parsed and checked.
type flags struct {
	cfg          results.Settings
	scenarios    string
	levels       string
	n            int
	full         bool
	servers      string
	redrtcBin    string
	baselineBin  string
	compareBin   string
	url          string
	pid          int
	allowRemote  bool
	srcIPs       int
	outDir       string
	deadline     time.Duration
	noSmoke      bool
	quiet        bool
	report       string
	profile      bool
	cluster      int    // nodes of a cluster run (0: none)
	natsBin      string // nats-server for it
	explicitSets map[string]bool
}

func parseArgs(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.scenarios, "scenarios", "idle,relay,churn", "scenarios to run: idle, relay, churn, resume (relay at -rate while 10% of the clients drop and resume every 3 s)")
	fs.StringVar(&f.levels, "levels", "1000,5000,10000,max", `client counts for idle and relay; "max" is -n capped at the machine's ceiling`)
	fs.IntVar(&f.n, "n", limits.ProtocolMaxClients, `the largest client count ("max" in -levels), capped at the machine's ceiling`)
	fs.BoolVar(&f.full, "full", false, "make bench-full: -n 65536 -scenarios idle,relay -duration 15s -deadline 30m unless set")
	fs.IntVar(&f.cfg.RoomSize, "room-size", 6, "clients per room (1-6)")
	fs.Float64Var(&f.cfg.Rate, "rate", 10000, "relay: fixed rate in msgs/s over all clients (0 skips the fixed-rate run)")
	fs.IntVar(&f.cfg.Window, "window", 1024, "relay: messages in flight at most in the as-fast-as-possible run")
	fs.DurationVar(&f.cfg.Duration, "duration", 6*time.Second, "relay: measured time of each run")
	fs.DurationVar(&f.cfg.Warmup, "warmup", time.Second, "relay and churn: load before the measured time")
	fs.DurationVar(&f.cfg.Drain, "drain", 5*time.Second, "relay and churn: how long to wait for messages in flight at the end")
	fs.DurationVar(&f.cfg.Settle, "settle", time.Second, "idle: wait before each memory reading")
	fs.IntVar(&f.cfg.ChurnPairs, "churn-pairs", 100, "churn: concurrent pairs")
	fs.DurationVar(&f.cfg.ChurnDuration, "churn-duration", 0, "churn: measured time (default -duration)")
	fs.IntVar(&f.cfg.ConnectPending, "connect-concurrency", 512, "connections being set up at once, over all workers")
	fs.IntVar(&f.cfg.Loops, "loops", 0, "event loops per worker process (default: the CPUs, shared among the workers)")
	fs.IntVar(&f.cfg.MinWorkers, "workers", 1, "worker processes at least (more are used when one process's open-files limit is not enough)")
	fs.IntVar(&f.cfg.SDPBytes, "sdp-bytes", 3000, "relay: SDP size of offers and answers")
	fs.IntVar(&f.cfg.CandidateBytes, "candidate-bytes", 250, "relay: size of an ice-candidate message")
	fs.IntVar(&f.cfg.Repeat, "repeat", 1, "relay and churn: runs of each measurement, the servers taking turns, and turns at going first; the table shows the median and the range")
	fs.DurationVar(&f.cfg.StepTimeout, "step-timeout", 30*time.Second, "deadline of each connect/join/leave/close step, plus 1 ms per client")
	fs.StringVar(&f.servers, "servers", "redrtc,baseline", "servers to measure: redrtc, redrtc-tokens (RedRTC with access tokens on, every join carrying a token), baseline, floor (a minimal gnet relay, to measure against)")
	fs.StringVar(&f.redrtcBin, "redrtc", "", "RedRTC binary to use instead of building ./cmd/redrtc")
	fs.StringVar(&f.baselineBin, "baseline", "", "baseline binary to use instead of building bench/servers/baseline")
	fs.StringVar(&f.compareBin, "compare", "", "a second RedRTC binary (another commit's make release) measured as its own server, "+target.CompareName+", right after RedRTC, taking turns with it under -repeat, with a "+target.CompareName+"/RedRTC column")
	fs.StringVar(&f.url, "url", "", "measure a running compatible server at this ws:// URL instead (only it)")
	fs.IntVar(&f.pid, "pid", 0, "with -url: the server's process id, to read its CPU and memory from /proc")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "with -url: allow a server that is not on a loopback address")
	fs.IntVar(&f.srcIPs, "src-ips", 16, "source addresses to spread clients over: 127.0.0.2 and up")
	fs.StringVar(&f.outDir, "out", "", "directory for the JSON and PNG results (default bench/results in the module)")
	fs.DurationVar(&f.deadline, "deadline", 290*time.Second, "stop everything and report what was measured after this long (the default is multiplied by -repeat)")
	fs.BoolVar(&f.noSmoke, "no-smoke", false, "skip the protocol smoke test")
	fs.BoolVar(&f.quiet, "q", false, "no progress on stderr")
	fs.BoolVar(&f.profile, "profile", false, "take Go profiles of the servers during the run (heap once the idle clients joined, CPU over each relay and churn measurement) into <results>/<timestamp>-profiles/")
	fs.IntVar(&f.cluster, "cluster", 0, "make bench-cluster: measure a cluster of this many RedRTC nodes sharing a nats-server, clients spread over them round-robin (idle and relay at -n, default 65,536; relay by same-node and by cross-node pairs)")
	fs.StringVar(&f.natsBin, "nats-server", "", "with -cluster: the nats-server binary (default build/bin/nats-server from make nats-server, then nats-server on the PATH)")
	fs.StringVar(&f.report, "report", "", "measure nothing: print the table of a saved results JSON and redraw its chart")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	f.explicitSets = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.explicitSets[fl.Name] = true })
	if f.full {
		if !f.explicitSets["n"] {
			f.n = limits.ProtocolMaxClients
		}
		if !f.explicitSets["scenarios"] {
			f.scenarios = "idle,relay"
		}
		if !f.explicitSets["duration"] {
			f.cfg.Duration = 15 * time.Second
		}
		if !f.explicitSets["deadline"] {
			f.deadline = 30 * time.Minute
		}
	}
	if f.cluster != 0 {
		if err := clusterDefaults(f); err != nil {
			return nil, err
		}
	}
	if f.cfg.Repeat > 1 && !f.explicitSets["deadline"] {
		// Relay and churn take most of a run, and -repeat multiplies them.
		f.deadline *= time.Duration(f.cfg.Repeat)
	}
	if f.cfg.ChurnDuration <= 0 {
		f.cfg.ChurnDuration = f.cfg.Duration
	}
	for _, s := range strings.Split(f.scenarios, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "idle", "relay", "churn", "resume":
			if !slices.Contains(f.cfg.Scenarios, s) {
				f.cfg.Scenarios = append(f.cfg.Scenarios, s)
			}
		case "":
		default:
			return nil, fmt.Errorf("-scenarios: unknown scenario %q (idle, relay, churn, resume)", s)
		}
	}
	switch {
	case f.cfg.RoomSize < 1 || f.cfg.RoomSize > 6:
		return nil, fmt.Errorf("-room-size must be 1-6 (the protocol's room capacity), got %d", f.cfg.RoomSize)
	case f.cfg.RoomSize == 1 && slices.Contains(f.cfg.Scenarios, "relay"):
		return nil, fmt.Errorf("-room-size 1 leaves relay no room-mate to send to: use 2-6, or -scenarios idle,churn")
	case f.n < 1:
		return nil, fmt.Errorf("-n must be at least 1")
	case f.cfg.Duration <= 0 || f.cfg.Window < 1 || f.cfg.Rate < 0 || f.cfg.ChurnPairs < 1:
		return nil, fmt.Errorf("-duration, -window and -churn-pairs must be positive and -rate not negative")
	case f.pid != 0 && f.url == "":
		return nil, fmt.Errorf("-pid goes with -url")
	case f.profile && f.url != "":
		return nil, fmt.Errorf("-profile profiles the servers the bench starts; profile a -url server with its own profiler (RedRTC: --debug-addr, then go tool pprof)")
	case f.cfg.Repeat < 1:
		return nil, fmt.Errorf("-repeat must be at least 1, got %d", f.cfg.Repeat)
	case f.compareBin != "" && f.url != "":
		return nil, fmt.Errorf("-compare measures a second RedRTC binary that the bench starts; it does not go with -url")
	}
	// The servers are started from the bench's own directory, whatever that
	// is, so a binary given by a relative path is pinned to the working
	// directory now.
	for _, bin := range []*string{&f.redrtcBin, &f.baselineBin, &f.compareBin} {
		if *bin == "" {
			continue
		}
		abs, err := filepath.Abs(*bin)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", *bin, err)
		}
		*bin = abs
	}
	return f, nil
}

// serverNames is -servers as a list, with the -compare binary right after
// RedRTC, so that the two builds run back to back in each round.
func serverNames(f *flags) ([]string, error) {
	var names []string
	for _, name := range strings.Split(f.servers, ",") {
		if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
			names = append(names, name)
		}
	}
	if f.compareBin == "" {
		if slices.Contains(names, compareKey) {
			return nil, fmt.Errorf("-servers: %s is the binary -compare names; give -compare PATH", compareKey)
		}
		return names, nil
	}
	if slices.Contains(names, compareKey) {
		return names, nil
	}
	i := slices.Index(names, "redrtc")
	if i < 0 {
		return nil, fmt.Errorf("-compare measures a second RedRTC against the first: -servers must include redrtc")
	}
	return slices.Insert(names, i+1, compareKey), nil
}

// compareKey is the -servers name of the -compare binary.
const compareKey = "redrtc-b"

// resolveLevels turns -levels into sorted client counts, capped at ceiling.
func resolveLevels(spec string, n int) ([]int, error) {
	var out []int
	for _, s := range strings.Split(spec, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		v := n
		if s != "max" {
			x, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
			if err != nil || x < 1 {
				return nil, fmt.Errorf("-levels: %q is not a client count or max", s)
			}
			v = min(x, n)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out, nil
}
