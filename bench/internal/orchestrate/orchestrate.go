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
)

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
	if f.cluster > 0 {
		return runCluster(f, args, stdout, stderr)
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
				for _, rr := range r.relay(ctx, k, lv, relayModes) {
					rr.Round = round
					res.Relay = append(res.Relay, rr)
					logf("  %s: delivered %.0f msgs/s, p99 %.2f ms, %.2f µs server CPU/msg, exactly once %v%s",
						rr.Mode, rr.DeliveredRate, rr.P99us/1000, rr.CPUPerMsgUs, rr.ExactlyOnce, errSuffix(rr.Err))
				}
			}
		}
	}
	for round := 0; has("resume") && round < f.cfg.Repeat; round++ {
		for _, lv := range levels {
			for _, k := range turns(kinds, round) {
				if aborted() {
					break
				}
				logf("resume: %s, %s clients%s", k.Name, numfmt.Commas(lv), results.RoundSuffix(round, f.cfg.Repeat))
				for _, rr := range r.relay(ctx, k, lv, resumeModes) {
					rr.Round = round
					res.Relay = append(res.Relay, rr)
					logf("  %d resumed, p99 %.2f ms, %d failed, exactly once %v%s",
						rr.Resumes, rr.ResumeP99us/1000, rr.ResumeFailed, rr.ExactlyOnce, errSuffix(rr.Err))
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
	if len(res.Idle)+len(res.Relay) == 0 { // a cluster run's, or one with nothing to plot
		results.WriteMarkdown(stdout, &res)
		return 0
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
