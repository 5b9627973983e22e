package orchestrate

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redrtc/redrtc/bench/internal/limits"
	"github.com/redrtc/redrtc/bench/internal/loadclient"
	"github.com/redrtc/redrtc/bench/internal/results"
	"github.com/redrtc/redrtc/bench/internal/target"
	"github.com/redrtc/redrtc/internal/conformance"
	"github.com/redrtc/redrtc/internal/debugserve"
)

var (
	redrtcBin, baselineBin, floorBin string
	redrtcErr, baselineErr, floorErr error
)

// TestMain builds the servers once. The test binary doubles as the worker:
// the load generator re-executes itself with -worker.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == loadclient.WorkerFlag {
		os.Exit(loadclient.WorkerMain(os.Stdin, os.Stdout))
	}
	// Under -race, a race in a worker (this binary, re-executed) stops it,
	// failing the run it serves; otherwise the report only reaches its log.
	if os.Getenv("GORACE") == "" {
		_ = os.Setenv("GORACE", "halt_on_error=1")
	}
	dir, err := os.MkdirTemp("", "bench-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	root, err := target.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	redrtcBin, baselineBin, floorBin = filepath.Join(dir, "redrtc"), filepath.Join(dir, "baseline"), filepath.Join(dir, "floor")
	redrtcErr = target.Build(ctx, root, "cmd/redrtc", redrtcBin)
	baselineErr = target.Build(ctx, root, "bench/servers/baseline", baselineBin)
	floorErr = target.Build(ctx, root, "bench/servers/floor", floorBin)
	cancel()
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func kindFor(t *testing.T, name string) *target.Server {
	t.Helper()
	switch name {
	case "RedRTC":
		if redrtcErr != nil {
			t.Fatalf("building RedRTC: %v", redrtcErr)
		}
		return &target.Server{Name: name, Binary: redrtcBin, Extra: redrtcExtraArgs(redrtcBin)}
	case target.FloorName:
		if floorErr != nil {
			t.Fatalf("building the floor: %v", floorErr)
		}
		return &target.Server{Name: name, Binary: floorBin}
	default:
		if baselineErr != nil {
			t.Fatalf("building the baseline: %v", baselineErr)
		}
		return &target.Server{Name: name, Binary: baselineBin}
	}
}

func TestSmokeRedRTC(t *testing.T)   { testSmoke(t, "RedRTC") }
func TestSmokeBaseline(t *testing.T) { testSmoke(t, "baseline") }

func testSmoke(t *testing.T, name string) {
	k := kindFor(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := target.Start(ctx, k, 64, 16, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if err := conformance.Run(ctx, p.URL); err != nil {
		t.Fatalf("%s: %v\nserver log:\n%s", name, err, p.LogTail())
	}
}

// smallRun is the limits and a configuration for runs of a few dozen
// clients that take a second or two.
func smallRun(t *testing.T) (limits.Limits, results.Settings) {
	t.Helper()
	lim, err := limits.Read(4, false)
	if err != nil {
		t.Fatal(err)
	}
	return lim, results.Settings{
		RoomSize: 6, Rate: 2000, Window: 64,
		Duration: 500 * time.Millisecond, Warmup: 200 * time.Millisecond, Drain: 3 * time.Second,
		Settle: 100 * time.Millisecond, ChurnPairs: 4, ChurnDuration: 500 * time.Millisecond,
		ConnectPending: 32, Loops: 2, MinWorkers: 1, SDPBytes: 3000, CandidateBytes: 250,
		StepTimeout: 10 * time.Second,
	}
}

// TestScenarios runs every scenario, small and short, against every server,
// with the clients split over two worker processes. The floor also checks
// that the load generator copes with a server that answers a close frame by
// just closing the connection.
func TestScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and worker processes")
	}
	lim, cfg := smallRun(t)
	cfg.MinWorkers = 2
	for _, name := range []string{"RedRTC", "baseline", target.FloorName} {
		t.Run(name, func(t *testing.T) {
			k := kindFor(t, name)
			r := &runner{cfg: cfg, limits: lim, logDir: t.TempDir(), runID: "t", logf: t.Logf}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			const n = 58 // 9 rooms of 6 and one of 4, over two workers
			ir := r.idle(ctx, k, n)
			if ir.Err != "" || ir.Connected != n || ir.Joined != n || ir.HealthClients != n || ir.HealthRooms != 10 {
				t.Fatalf("idle: %+v", ir)
			}
			if ir.RSSEmptyKB <= 0 || ir.RSSJoinedKB <= 0 || ir.ConnectRate <= 0 {
				t.Fatalf("idle figures missing: %+v", ir)
			}
			// Every server reports its Go heap; holding n clients takes some.
			if ir.HeapEmptyKB == nil || ir.HeapJoinedKB == nil || ir.HeapClosedKB == nil || *ir.HeapJoinedKB <= *ir.HeapEmptyKB {
				t.Fatalf("heap figures missing or flat: %v %v %v", ir.HeapEmptyKB, ir.HeapJoinedKB, ir.HeapClosedKB)
			}
			if len(ir.Failures) > 0 || len(ir.ServerErrors) > 0 {
				t.Fatalf("idle anomalies: %v %v", ir.Failures, ir.ServerErrors)
			}
			rr := r.relay(ctx, k, n, relayModes)
			if len(rr) != 2 {
				t.Fatalf("relay: %d results", len(rr))
			}
			for _, x := range rr {
				if x.Err != "" || !x.ExactlyOnce || x.DeliveredRate <= 0 || x.P50us <= 0 || x.Senders != n {
					t.Fatalf("relay %s: %+v", x.Mode, x)
				}
			}
			if name == "RedRTC" { // the one server with resume
				rr = r.relay(ctx, k, n, resumeModes)
				if len(rr) != 1 {
					t.Fatalf("resume: %d results", len(rr))
				}
				if x := rr[0]; x.Err != "" || !x.ExactlyOnce || x.Resumes == 0 || x.ResumeFailed != 0 || x.ResumeDropped != 0 || x.ResumeP50us <= 0 {
					t.Fatalf("resume: %+v", x)
				}
			}
			cr := r.churn(ctx, k)
			if cr.Err != "" || cr.Sessions == 0 || cr.Failures != 0 {
				t.Fatalf("churn: %+v", cr)
			}
		})
	}
}

// TestAnIdleRunShortOfItsClientsFails: a server that turns clients away
// (here --clients 20 for 58) must not yield a row that reads as 58 clients'
// figures and a bench that exits 0.
func TestAnIdleRunShortOfItsClientsFails(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and worker processes")
	}
	lim, err := limits.Read(4, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg := results.Settings{
		RoomSize: 6, Settle: 100 * time.Millisecond, ConnectPending: 32, Loops: 2, MinWorkers: 1,
		StepTimeout: 10 * time.Second,
	}
	k := kindFor(t, "RedRTC")
	k.Extra = append(k.Extra, "-c", "20") // after the runner's -c: the last one counts
	r := &runner{cfg: cfg, limits: lim, logDir: t.TempDir(), runID: "t", logf: t.Logf}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ir := r.idle(ctx, k, 58)
	if ir.Connected != 20 || !strings.Contains(ir.Err, "only 20 of 58 clients connected") {
		t.Fatalf("idle against a server full at 20: connected %d, Err %q", ir.Connected, ir.Err)
	}
	if !(&results.Results{Idle: []results.IdleResult{ir}}).Failed() {
		t.Fatal("the results do not count as failed")
	}
}

func TestPlanWorkers(t *testing.T) {
	for _, tc := range []struct{ n, size, per, min, workers int }{
		{1000, 6, 19800, 1, 1},
		{19900, 6, 19800, 1, 2},
		{65536, 6, 19800, 1, 4},
		{65536, 6, 1 << 20, 1, 1},
		{58, 6, 19800, 2, 2},
		{5, 6, 19800, 3, 1},
	} {
		shares := planWorkers(tc.n, tc.size, tc.per, tc.min)
		if len(shares) != tc.workers {
			t.Errorf("%+v: %d workers %v", tc, len(shares), shares)
		}
		next := 0
		for _, s := range shares {
			if s[0] != next || s[0]%tc.size != 0 || s[1] > tc.per {
				t.Errorf("%+v: bad share %v in %v", tc, s, shares)
			}
			next = s[0] + s[1]
		}
		if next != tc.n {
			t.Errorf("%+v: shares cover %d clients", tc, next)
		}
	}
}

func TestLevelsAndCap(t *testing.T) {
	lv, err := resolveLevels("1000,5000,10000,max", 19900)
	if err != nil || fmt.Sprint(lv) != "[1000 5000 10000 19900]" {
		t.Fatalf("%v %v", lv, err)
	}
	lv, _ = resolveLevels("max,1000,50000", 3000)
	if fmt.Sprint(lv) != "[1000 3000]" {
		t.Fatalf("%v", lv)
	}
	if _, err := resolveLevels("lots", 10); err == nil {
		t.Fatal("accepted a bad level")
	}
	l := limits.Limits{Ceiling: 19900, CeilingBy: "the open-files hard limit (ulimit -Hn) is 20000"}
	n, msg := l.CapClients(65536)
	if n != 19900 || !strings.Contains(msg, "19,900") || !strings.Contains(msg, "ulimit -Hn") {
		t.Fatalf("%d %q", n, msg)
	}
	if n, msg := l.CapClients(1000); n != 1000 || msg != "" {
		t.Fatalf("%d %q", n, msg)
	}
}

// TestTheRedRTCItBuildsNamesItsCommit: the results record RedRTC's
// --version, which must tie them to the commit measured.
func TestTheRedRTCItBuildsNamesItsCommit(t *testing.T) {
	if redrtcErr != nil {
		t.Fatalf("building RedRTC: %v", redrtcErr)
	}
	root, err := target.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	want := target.GitDescribe(context.Background(), root)
	if want == "" {
		t.Skip("not a git checkout")
	}
	if v := target.VersionOf(redrtcBin); !strings.Contains(v, "(commit "+want+",") {
		t.Fatalf("RedRTC --version %q, want it to name commit %s", v, want)
	}
}

// TestRoomsOfOneAreRefusedForRelay: rooms of one leave relay nobody to
// send to, so the command line says so instead of a run that fails.
func TestRoomsOfOneAreRefusedForRelay(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"relay in rooms of 1", []string{"-room-size", "1"}, false},
		{"idle and churn in rooms of 1", []string{"-room-size", "1", "-scenarios", "idle,churn"}, true},
		{"relay in rooms of 2", []string{"-room-size", "2", "-scenarios", "relay"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseArgs(tc.args, io.Discard)
			if tc.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "-room-size 1")) {
				t.Fatalf("parseArgs(%q): %v", tc.args, err)
			}
		})
	}
}

// TestProfileGoesWithTheServersTheBenchStarts: a -url server's debug
// address is unknown to the bench, so -profile there is refused rather than
// silently taking nothing.
func TestProfileGoesWithTheServersTheBenchStarts(t *testing.T) {
	if _, err := parseArgs([]string{"-profile"}, io.Discard); err != nil {
		t.Errorf("-profile alone: %v", err)
	}
	_, err := parseArgs([]string{"-profile", "-url", "ws://127.0.0.1:8080/"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-profile profiles the servers the bench starts") {
		t.Errorf("-profile with -url: %v, want it refused", err)
	}
}

func TestServersTakeTurnsGoingFirst(t *testing.T) {
	a, b := &target.Server{Name: "RedRTC"}, &target.Server{Name: "baseline"}
	kinds := []*target.Server{a, b}
	for round, want := range [][]*target.Server{{a, b}, {b, a}, {a, b}} {
		if got := turns(kinds, round); got[0] != want[0] || got[1] != want[1] {
			t.Errorf("round %d: %s first, want %s", round, got[0].Name, want[0].Name)
		}
	}
	if kinds[0] != a {
		t.Error("turns reordered the list it was given")
	}
}

// TestProfilesAreTakenDuringTheRun: with -profile, each scenario leaves the
// profiles that say where the server's memory and CPU went, readable by go
// tool pprof, and naming the server's own code.
func TestProfilesAreTakenDuringTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and worker processes")
	}
	lim, cfg := smallRun(t)
	// A CPU profile lasts whole seconds.
	cfg.Duration, cfg.ChurnDuration = time.Second, time.Second
	dir := filepath.Join(t.TempDir(), "20260101-000000-profiles")
	prof := newProfiler(dir, t.Logf)
	r := &runner{cfg: cfg, limits: lim, logDir: t.TempDir(), runID: "t", logf: t.Logf, prof: prof}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 12
	for _, name := range []string{"RedRTC", "baseline"} {
		k := kindFor(t, name)
		k.Profiled = true
		if ir := r.idle(ctx, k, n); ir.Err != "" {
			t.Fatalf("%s idle: %s", name, ir.Err)
		}
	}
	k := kindFor(t, "RedRTC")
	k.Profiled = true
	for _, rr := range r.relay(ctx, k, n, relayModes) {
		if rr.Err != "" || !rr.ExactlyOnce {
			t.Fatalf("relay %s: %+v", rr.Mode, rr)
		}
	}
	r.relay(ctx, k, n, relayModes) // a second run gets files of its own
	if cr := r.churn(ctx, k); cr.Err != "" {
		t.Fatalf("churn: %s", cr.Err)
	}

	files, errs := prof.saved()
	if len(errs) > 0 {
		t.Errorf("profiles not taken: %v", errs)
	}
	// Each file, gunzipped, is a protobuf whose string table holds the
	// names of the functions sampled.
	want := map[string]string{
		"redrtc-idle-12.heap.pb.gz":        "github.com/redrtc/redrtc/registry.",
		"baseline-idle-12.heap.pb.gz":      "main.",
		"redrtc-relay-12-rate.cpu.pb.gz":   "",
		"redrtc-relay-12-max.cpu.pb.gz":    "github.com/redrtc/redrtc/loop.",
		"redrtc-relay-12-rate-2.cpu.pb.gz": "",
		"redrtc-relay-12-max-2.cpu.pb.gz":  "github.com/redrtc/redrtc/loop.",
		"redrtc-churn-4.cpu.pb.gz":         "",
	}
	if len(files) != len(want) {
		t.Errorf("saved %v, want the %d in %v", files, len(want), want)
	}
	for name, fn := range want {
		if !slices.Contains(files, filepath.Join(filepath.Base(dir), name)) {
			t.Errorf("%s not among the files saved: %v", name, files)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		raw, err := io.ReadAll(zr)
		if err != nil || len(raw) == 0 {
			t.Errorf("%s: %d bytes, %v", name, len(raw), err)
		}
		if !bytes.Contains(raw, []byte(fn)) {
			t.Errorf("%s names no function starting %q", name, fn)
		}
	}
}

// TestAFailedRunAbandonsItsCPUProfile: when the run a CPU profile covers
// fails, the bench does not wait out the profile's window (up to warm-up,
// duration and 30 s more), and says why the profile is missing.
func TestAFailedRunAbandonsItsCPUProfile(t *testing.T) {
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Skip("this process's CPU profiler is taken (go test -cpuprofile?)")
	}
	pprof.StopCPUProfile()
	debug, err := debugserve.Start("127.0.0.1:0") // this process's own profiler
	if err != nil {
		t.Fatal(err)
	}
	defer debug.Close()
	dir := filepath.Join(t.TempDir(), "20260101-000000-profiles")
	prof := newProfiler(dir, t.Logf)
	p := &target.Process{Server: &target.Server{Name: "RedRTC"}, DebugHost: debug.Addr().String()}
	wait := prof.cpu(context.Background(), p, "redrtc-relay-12-max", time.Now(), time.Hour)
	returned := make(chan struct{})
	go func() {
		wait(true)
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(30 * time.Second):
		t.Fatal("still waiting for an hour-long profile 30 s after its run failed")
	}
	files, errs := prof.saved()
	if len(files) != 0 || len(errs) != 1 || !strings.Contains(errs[0], "redrtc-relay-12-max.cpu.pb.gz not taken: abandoned: the run it covers failed") {
		t.Errorf("saved %v, not taken %q; want nothing saved and the abandoned profile named", files, errs)
	}
}

// TestRepeatSetsTheDeadline: -repeat multiplies the default deadline, since
// relay and churn take most of a run, and an explicit -deadline stands.
func TestRepeatSetsTheDeadline(t *testing.T) {
	if _, err := parseArgs([]string{"-repeat", "0"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-repeat") {
		t.Errorf("-repeat 0: %v, want an error naming -repeat", err)
	}
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{[]string{"-repeat", "3"}, 3 * 290 * time.Second},
		{[]string{"-repeat", "3", "-deadline", "1m"}, time.Minute},
	} {
		f, err := parseArgs(tc.args, io.Discard)
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
		} else if f.deadline != tc.want {
			t.Errorf("%v: deadline %v, want %v", tc.args, f.deadline, tc.want)
		}
	}
}

// TestCompareMeasuresASecondBuildAsItsOwnServer: -compare adds a second
// RedRTC binary as a server of its own, right after RedRTC, taking turns with
// it under -repeat, and the table gives it a ratio to RedRTC. Both sides are
// the same build here; a relative -compare path names a file from the working
// directory.
func TestCompareMeasuresASecondBuildAsItsOwnServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and worker processes")
	}
	if redrtcErr != nil {
		t.Fatalf("building RedRTC: %v", redrtcErr)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, redrtcBin)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Run([]string{
		"-redrtc", redrtcBin, "-compare", rel, "-servers", "redrtc",
		"-scenarios", "relay", "-levels", "12", "-repeat", "2",
		"-rate", "1000", "-duration", "300ms", "-warmup", "100ms", "-drain", "3s",
		"-src-ips", "4", "-loops", "2", "-out", out, "-q",
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		"| RedRTC | RedRTC-B | RedRTC-B/RedRTC |",
		"- RedRTC-B: " + target.VersionOf(redrtcBin),
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	files, err := filepath.Glob(filepath.Join(out, "*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("results JSON: %v %v", files, err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var res results.Results
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Servers) != 2 || res.Servers[1].Name != target.CompareName || res.Servers[1].Binary != redrtcBin {
		t.Fatalf("servers %+v, want RedRTC and %s at %s", res.Servers, target.CompareName, redrtcBin)
	}
	// Each round runs a fixed rate and as fast as possible on each server;
	// the second round starts with RedRTC-B.
	var order []string
	for _, r := range res.Relay {
		if !r.ExactlyOnce || r.Err != "" {
			t.Errorf("relay %s %s round %d: %+v", r.Server, r.Mode, r.Round, r)
		}
		order = append(order, fmt.Sprintf("%d %s %s", r.Round, r.Server, r.Mode))
	}
	want := []string{
		"0 RedRTC rate", "0 RedRTC max", "0 RedRTC-B rate", "0 RedRTC-B max",
		"1 RedRTC-B rate", "1 RedRTC-B max", "1 RedRTC rate", "1 RedRTC max",
	}
	if !slices.Equal(order, want) {
		t.Errorf("relay runs %q, want %q", order, want)
	}
}

// TestCompareNeedsRedRTCToCompareWith: -compare measures against RedRTC and
// starts the binary itself, so it is refused where either cannot be.
func TestCompareNeedsRedRTCToCompareWith(t *testing.T) {
	if _, err := parseArgs([]string{"-compare", "x", "-url", "ws://127.0.0.1:8080/"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-compare") {
		t.Errorf("-compare with -url: %v, want it refused", err)
	}
	f, err := parseArgs([]string{"-compare", "x", "-servers", "baseline"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := serverNames(f); err == nil || !strings.Contains(err.Error(), "must include redrtc") {
		t.Errorf("-compare without redrtc: %v, want it refused", err)
	}
	f, err = parseArgs([]string{"-servers", "redrtc,redrtc-b"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := serverNames(f); err == nil || !strings.Contains(err.Error(), "-compare PATH") {
		t.Errorf("redrtc-b without -compare: %v, want it refused", err)
	}
	f, err = parseArgs([]string{"-compare", "x", "-servers", "baseline,redrtc,floor"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if names, err := serverNames(f); err != nil || !slices.Equal(names, []string{"baseline", "redrtc", "redrtc-b", "floor"}) {
		t.Errorf("servers %v %v, want redrtc-b right after redrtc", names, err)
	}
}
