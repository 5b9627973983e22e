// Package orchestrate is the bench's coordinator: it reads the command
// line and the machine's limits, builds and starts the servers, runs the
// conformance suite against each, drives the scenarios through worker
// processes, takes turns between servers under -repeat, and hands the
// figures to results.
package orchestrate

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redrtc/redrtc/bench/internal/limits"
	"github.com/redrtc/redrtc/bench/internal/numfmt"
	"github.com/redrtc/redrtc/bench/internal/results"
	"github.com/redrtc/redrtc/bench/internal/target"
	"github.com/redrtc/redrtc/internal/conformance"
)

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
	explicitSets map[string]bool
}

func parseArgs(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.scenarios, "scenarios", "idle,relay,churn", "scenarios to run: idle, relay, churn")
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
	fs.StringVar(&f.servers, "servers", "redrtc,baseline", "servers to measure: redrtc, baseline, floor (a minimal gnet relay, to measure against)")
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
		case "idle", "relay", "churn":
			if !slices.Contains(f.cfg.Scenarios, s) {
				f.cfg.Scenarios = append(f.cfg.Scenarios, s)
			}
		case "":
		default:
			return nil, fmt.Errorf("-scenarios: unknown scenario %q (idle, relay, churn)", s)
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

// Run is the bench: it parses args, measures, prints the table on stdout,
// writes the results, and returns the exit status (1 when any check failed
// or the run was cut short, 2 for a bad command line).
func Run(args []string, stdout, stderr io.Writer) int {
	f, err := parseArgs(args, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	if f.report != "" {
		return reprint(f.report, stdout, stderr)
	}
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
	limits.RaiseNoFile()

	res := &results.Results{
		Timestamp: began.UTC().Format(time.RFC3339),
		Machine:   results.MachineInfo(),
		Command:   strings.TrimSpace("bench " + strings.Join(args, " ")),
	}

	// Servers.
	var kinds []*target.Server
	external := f.url != ""
	if external {
		k, err := externalServer(f)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 2
		}
		kinds = append(kinds, k)
	}

	// Limits, and N capped before anything starts.
	lim, err := limits.Read(f.srcIPs, external)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if external && !isLoopback(hostOf(kinds[0].URL)) {
		lim.SrcIPs = nil // 127.0.0.x cannot reach another machine
	}
	res.Limits = lim
	n, capMsg := lim.CapClients(f.n)
	if capMsg != "" {
		fmt.Fprintf(stderr, "bench: %s\n", capMsg)
		res.Notes = append(res.Notes, capMsg)
	}
	if f.cfg.ChurnPairs*2 > lim.Ceiling {
		f.cfg.ChurnPairs = max(1, lim.Ceiling/2)
		msg := fmt.Sprintf("churn pairs capped at %d: %s.", f.cfg.ChurnPairs, lim.CeilingBy)
		fmt.Fprintf(stderr, "bench: %s\n", msg)
		res.Notes = append(res.Notes, msg)
	}
	levels, err := resolveLevels(f.levels, n)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	f.cfg.Levels = levels
	if top := levels[len(levels)-1]; top > limits.ProtocolMaxRooms*f.cfg.RoomSize {
		msg := fmt.Sprintf("--rooms accepts at most %d, so only %s of %s clients can be in rooms of %d; the rest stay connected without a room.",
			limits.ProtocolMaxRooms, numfmt.Commas(limits.ProtocolMaxRooms*f.cfg.RoomSize), numfmt.Commas(top), f.cfg.RoomSize)
		fmt.Fprintf(stderr, "bench: %s\n", msg)
		res.Notes = append(res.Notes, msg)
	}
	if len(lim.SrcIPs) == 0 {
		res.Notes = append(res.Notes, "no 127.0.0.x source address could be bound; clients use the kernel's default source address.")
	}
	res.Settings = f.cfg
	if len(lim.SrcIPs) > 0 {
		logf("limits: open files %d (hard %d), server ceiling %s, %s clients per worker process, source addresses %s-%s",
			lim.NoFileSoft, lim.NoFileHard, numfmt.Commas(lim.Ceiling), numfmt.Commas(lim.WorkerMax), lim.SrcIPs[0], lim.SrcIPs[len(lim.SrcIPs)-1])
	}

	root, rootErr := target.RepoRoot()
	outDir := f.outDir
	if outDir == "" {
		if rootErr != nil {
			fmt.Fprintf(stderr, "bench: %v; use -out\n", rootErr)
			return 1
		}
		outDir = filepath.Join(root, "bench", "results")
	}
	tmp, err := os.MkdirTemp("", "redrtc-bench-")
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	if !external {
		kinds, err = localServers(ctx, f, root, rootErr, tmp, logf)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
	}
	res.Servers = kinds

	// Smoke test: each server, fresh, must speak the protocol, unless its
	// entry in localServers already said it is not tested.
	for _, k := range kinds {
		if f.noSmoke {
			k.Smoke = "skipped"
		}
		if k.Smoke != "" {
			continue
		}
		k.Smoke = "pass"
		if err := checkConformance(ctx, k, tmp); err != nil {
			k.Smoke = "FAIL: " + err.Error()
			fmt.Fprintf(stderr, "bench: %s fails the protocol smoke test: %v\n", k.Name, err)
			results.WriteOutputs(res, outDir, stdout, stderr, began)
			return 1
		}
		logf("%s passes the protocol smoke test", k.Name)
	}

	r := &runner{cfg: f.cfg, limits: lim, logDir: tmp, runID: strconv.FormatInt(began.Unix()%100000, 36), logf: logf}
	if f.profile {
		r.prof = newProfiler(filepath.Join(outDir, results.Stamp(began)+"-profiles"), logf)
		res.Notes = append(res.Notes, "taken with -profile: the idle scenario's servers sampled one allocation per 4 KiB, and a heap profile, after a collection, was taken after each idle row's joined readings (so the readings after leave and disconnect follow a collection that a run without -profile does not have); a CPU profile ran during each relay and churn measurement.")
	}
	aborted := func() bool {
		if ctx.Err() != nil {
			if !res.Incomplete {
				res.Incomplete = true
				msg := fmt.Sprintf("stopped after %v (-deadline %v or a signal): the figures below are those measured so far.",
					time.Since(began).Round(time.Second), f.deadline)
				res.Notes = append(res.Notes, msg)
				fmt.Fprintf(stderr, "bench: %s\n", msg)
			}
			return true
		}
		return false
	}
	has := func(s string) bool { return slices.Contains(f.cfg.Scenarios, s) }
	// With -repeat, the servers take turns run by run, so that a slow spell
	// of a shared machine does not land on one server's runs only, and which
	// one goes first alternates.
levels:
	for _, lv := range levels {
		for _, k := range kinds {
			if has("idle") {
				if aborted() {
					break levels
				}
				logf("idle: %s, %s clients", k.Name, numfmt.Commas(lv))
				ir := r.idle(ctx, k, lv)
				res.Idle = append(res.Idle, ir)
				logf("  connected %s at %.0f/s, %.2f KiB/client joined%s", numfmt.Commas(ir.Connected), ir.ConnectRate, ir.PerConnJoined, errSuffix(ir.Err))
			}
		}
		for round := 0; has("relay") && round < f.cfg.Repeat; round++ {
			for _, k := range turns(kinds, round) {
				if aborted() {
					break levels
				}
				logf("relay: %s, %s clients%s", k.Name, numfmt.Commas(lv), results.RoundSuffix(round, f.cfg.Repeat))
				for _, rr := range r.relay(ctx, k, lv) {
					rr.Round = round
					res.Relay = append(res.Relay, rr)
					logf("  %s: delivered %.0f msgs/s, p99 %.2f ms, %.2f µs server CPU/msg, exactly once %v%s",
						rr.Mode, rr.DeliveredRate, rr.P99us/1000, rr.CPUPerMsgUs, rr.ExactlyOnce, errSuffix(rr.Err))
				}
			}
		}
	}
churn:
	for round := 0; has("churn") && round < f.cfg.Repeat; round++ {
		for _, k := range turns(kinds, round) {
			if aborted() {
				break churn
			}
			logf("churn: %s, %d pairs%s", k.Name, f.cfg.ChurnPairs, results.RoundSuffix(round, f.cfg.Repeat))
			cr := r.churn(ctx, k)
			cr.Round = round
			res.Churn = append(res.Churn, cr)
			logf("  %.0f sessions/s, %.1f µs server CPU/session%s", cr.SessionsPerSec, cr.CPUPerSession, errSuffix(cr.Err))
		}
	}
	aborted()
	var profileErrs []string
	res.Profiles, profileErrs = r.prof.saved()
	res.Notes = append(res.Notes, profileErrs...)
	results.WriteOutputs(res, outDir, stdout, stderr, began)
	if res.Incomplete || res.Failed() {
		return 1
	}
	return 0
}

// turns is the order the servers run in for the given round: as listed, then
// the other way round, and so on.
func turns(kinds []*target.Server, round int) []*target.Server {
	if round%2 == 0 {
		return kinds
	}
	reversed := slices.Clone(kinds)
	slices.Reverse(reversed)
	return reversed
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	if i := strings.IndexByte(e, '\n'); i >= 0 {
		e = e[:i]
	}
	return " — ERROR: " + e
}

// localServers builds (or takes) the servers to measure.
func localServers(ctx context.Context, f *flags, root string, rootErr error, tmp string, logf func(string, ...any)) ([]*target.Server, error) {
	known := map[string]struct {
		display, binary, pkg string
		smoke                string // "skipped" for a server the smoke test is not run on
	}{
		"redrtc":   {"RedRTC", f.redrtcBin, "cmd/redrtc", ""},
		"baseline": {"baseline", f.baselineBin, "bench/servers/baseline", ""},
		// The floor answers no bad input, by design.
		"floor": {target.FloorName, "", "bench/servers/floor", "skipped"},
		// Always a given binary, so never built.
		compareKey: {target.CompareName, f.compareBin, "", ""},
	}
	names, err := serverNames(f)
	if err != nil {
		return nil, err
	}
	var kinds []*target.Server
	for _, name := range names {
		s, ok := known[name]
		if !ok {
			return nil, fmt.Errorf("-servers: unknown server %q (redrtc, baseline, floor; %s with -compare)", name, compareKey)
		}
		k := target.Server{Name: s.display, Binary: s.binary, Smoke: s.smoke}
		if k.Binary == "" {
			if rootErr != nil {
				return nil, rootErr
			}
			k.Binary = filepath.Join(tmp, name)
			logf("building ./%s", s.pkg)
			if err := target.Build(ctx, root, s.pkg, k.Binary); err != nil {
				return nil, err
			}
		}
		if name == "redrtc" || name == compareKey {
			k.Extra = redrtcExtraArgs(k.Binary)
		}
		if f.profile {
			if k.Profiled = target.HelpMentions(k.Binary, "debug-addr"); !k.Profiled {
				logf("%s has no --debug-addr flag: it will not be profiled", s.display)
			}
		}
		k.Version = target.VersionOf(k.Binary)
		kinds = append(kinds, &k)
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("no server to measure")
	}
	return kinds, nil
}

// redrtcExtraArgs turns off what would cap or cut the benchmark, where
// RedRTC has the flag: per-client rate limiting (the relay runs send as fast
// as they can), and the join timeout (beyond 60,000 clients, --rooms leaves
// the rest without a room, on purpose).
func redrtcExtraArgs(bin string) []string {
	var extra []string
	if target.HelpMentions(bin, "--rate") {
		extra = append(extra, "--rate", "0")
	}
	if target.HelpMentions(bin, "--join-timeout") {
		extra = append(extra, "--join-timeout", "86400")
	}
	return extra
}

// externalServer describes a server given by -url.
func externalServer(f *flags) (*target.Server, error) {
	u := f.url
	if !strings.HasPrefix(u, "ws://") {
		return nil, fmt.Errorf("-url must be a ws:// URL, got %q", u)
	}
	host := strings.TrimPrefix(u, "ws://")
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	} else {
		u += "/"
	}
	h, _, err := splitHostPort(host)
	if err != nil {
		return nil, fmt.Errorf("-url: %v", err)
	}
	if !isLoopback(h) && !f.allowRemote {
		return nil, fmt.Errorf("-url %s is not on a loopback address; pass -allow-remote to load a server elsewhere", f.url)
	}
	return &target.Server{Name: "external", External: true, URL: u, PID: f.pid}, nil
}

func hostOf(wsURL string) string {
	host := strings.TrimPrefix(wsURL, "ws://")
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	h, _, _ := splitHostPort(host)
	return h
}

// checkConformance runs the protocol conformance suite (the "smoke test" of
// the results) against a fresh instance.
func checkConformance(ctx context.Context, k *target.Server, tmp string) error {
	p, err := target.Start(ctx, k, 64, 16, tmp)
	if err != nil {
		return err
	}
	defer p.Stop()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return conformance.Run(sctx, p.URL)
}

// reprint prints the table of a saved result and redraws its chart beside it.
func reprint(path string, stdout, stderr io.Writer) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	var res results.Results
	if err := json.Unmarshal(b, &res); err != nil {
		fmt.Fprintf(stderr, "bench: %s: %v\n", path, err)
		return 1
	}
	png := strings.TrimSuffix(path, ".json") + ".png"
	if err := results.WriteChart(&res, png); err != nil {
		fmt.Fprintf(stderr, "bench: chart: %v\n", err)
		return 1
	}
	results.WriteMarkdown(stdout, &res)
	fmt.Fprintf(stdout, "\nChart: %s\n", png)
	return 0
}

func splitHostPort(hostport string) (string, string, error) {
	return net.SplitHostPort(hostport)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
