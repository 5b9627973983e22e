package main

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
	if len(os.Args) > 1 && os.Args[1] == "-worker" {
		os.Exit(workerMain(os.Stdin, os.Stdout))
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
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	redrtcBin, baselineBin, floorBin = filepath.Join(dir, "redrtc"), filepath.Join(dir, "baseline"), filepath.Join(dir, "floor")
	redrtcErr = buildServer(ctx, root, "cmd/redrtc", redrtcBin)
	baselineErr = buildServer(ctx, root, "bench/servers/baseline", baselineBin)
	floorErr = buildServer(ctx, root, "bench/servers/floor", floorBin)
	cancel()
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func kindFor(t *testing.T, name string) *serverKind {
	t.Helper()
	switch name {
	case "RedRTC":
		if redrtcErr != nil {
			t.Fatalf("building RedRTC: %v", redrtcErr)
		}
		return &serverKind{Name: name, Binary: redrtcBin, Extra: redrtcExtraArgs(redrtcBin)}
	case floorName:
		if floorErr != nil {
			t.Fatalf("building the floor: %v", floorErr)
		}
		return &serverKind{Name: name, Binary: floorBin}
	default:
		if baselineErr != nil {
			t.Fatalf("building the baseline: %v", baselineErr)
		}
		return &serverKind{Name: name, Binary: baselineBin}
	}
}

func TestSmokeRedRTC(t *testing.T)   { testSmoke(t, "RedRTC") }
func TestSmokeBaseline(t *testing.T) { testSmoke(t, "baseline") }

func testSmoke(t *testing.T, name string) {
	k := kindFor(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := startServer(ctx, k, 64, 16, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	if err := conformance.Run(ctx, p.url); err != nil {
		t.Fatalf("%s: %v\nserver log:\n%s", name, err, p.logTail())
	}
}

// smallRun is the limits and a configuration for runs of a few dozen
// clients that take a second or two.
func smallRun(t *testing.T) (Limits, Config) {
	t.Helper()
	lim, err := readLimits(4, false)
	if err != nil {
		t.Fatal(err)
	}
	return lim, Config{
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
	for _, name := range []string{"RedRTC", "baseline", floorName} {
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
			rr := r.relay(ctx, k, n)
			if len(rr) != 2 {
				t.Fatalf("relay: %d results", len(rr))
			}
			for _, x := range rr {
				if x.Err != "" || !x.ExactlyOnce || x.DeliveredRate <= 0 || x.P50us <= 0 || x.Senders != n {
					t.Fatalf("relay %s: %+v", x.Mode, x)
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
	lim, err := readLimits(4, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
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
	if !(&Results{Idle: []IdleResult{ir}}).failed() {
		t.Fatal("the results do not count as failed")
	}
}

func TestRelayFields(t *testing.T) {
	id := "0b7c2c56-8f3a-4e8e-9d1c-3f2a1b0c9d8e"
	fast := []byte(`{"event":"offer","data":{"fromClientId":"` + id + `","offer":{"type":"offer","seq":42,"ts":1700000000123456789,"sdp":"v=0"}}}`)
	from, seq, ts, ok := relayFields(fast)
	if !ok || string(from) != id || seq != 42 || ts != 1700000000123456789 {
		t.Fatalf("fast path: %q %d %d %v", from, seq, ts, ok)
	}
	// Another server may lay the JSON out differently.
	slow := []byte(`{ "data" : { "candidate" : { "ts" : 7, "candidate": "x", "seq" : 3 }, "fromClientId" : "` + id + `" }, "event" : "ice-candidate" }`)
	from, seq, ts, ok = relayFields(slow)
	if !ok || string(from) != id || seq != 3 || ts != 7 {
		t.Fatalf("fallback: %q %d %d %v", from, seq, ts, ok)
	}
	if _, _, _, ok := relayFields([]byte(`{"event":"offer","data":{}}`)); ok {
		t.Fatal("accepted a relay without sender")
	}
	name, ok := eventName(fast)
	if !ok || name != "offer" {
		t.Fatalf("eventName: %q %v", name, ok)
	}
	if _, ok := eventName([]byte(`{"event":"participants","data":{}}`)); ok {
		t.Fatal("participants took the relay fast path")
	}
}

func TestTemplates(t *testing.T) {
	tm := newTemplates(3000, 250)
	if n := len(tm.sdp); n < 2900 || n > 3000 {
		t.Fatalf("SDP is %d bytes, want about 3000", n)
	}
	id := "0b7c2c56-8f3a-4e8e-9d1c-3f2a1b0c9d8e"
	for k, tp := range tm.kinds {
		msg := tp.pre + id + tp.mid + "12" + `,"ts":` + "1700000000123456789" + tp.post
		var v struct {
			Event string                     `json:"event"`
			Data  map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(msg), &v); err != nil {
			t.Fatalf("kind %d is not JSON: %v\n%s", k, err, msg)
		}
		if v.Event != tp.event {
			t.Fatalf("kind %d: event %q", k, v.Event)
		}
		if k == kindCandidate && (len(msg) < 230 || len(msg) > 270) {
			t.Fatalf("candidate message is %d bytes, want about 250", len(msg))
		}
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
	l := Limits{Ceiling: 19900, CeilingBy: "the open-files hard limit (ulimit -Hn) is 20000"}
	n, msg := l.capClients(65536)
	if n != 19900 || !strings.Contains(msg, "19,900") || !strings.Contains(msg, "ulimit -Hn") {
		t.Fatalf("%d %q", n, msg)
	}
	if n, msg := l.capClients(1000); n != 1000 || msg != "" {
		t.Fatalf("%d %q", n, msg)
	}
}

func TestReadLimits(t *testing.T) {
	l, err := readLimits(4, false)
	if err != nil {
		t.Fatal(err)
	}
	if l.Ceiling <= 0 || l.Ceiling > protocolMaxClients || l.CeilingBy == "" || l.WorkerMax <= 0 {
		t.Fatalf("%+v", l)
	}
	if l.ServerMax > 0 && l.Ceiling > l.ServerMax {
		t.Fatalf("ceiling %d above what a server process can hold (%d)", l.Ceiling, l.ServerMax)
	}
}

// TestAnExternalServerIsNotCappedAt65536: the 65,536 cap is the --clients
// limit of the servers this bench starts; -url may name one that takes more.
func TestAnExternalServerIsNotCappedAt65536(t *testing.T) {
	l, err := readLimits(4, true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(l.CeilingBy, "--clients") {
		t.Fatalf("an external server's ceiling is set by %q", l.CeilingBy)
	}
}

func TestProc(t *testing.T) {
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	kb, err := procRSS(os.Getpid())
	if err != nil || kb <= 0 {
		t.Fatalf("%d %v", kb, err)
	}
}

func TestOutputs(t *testing.T) {
	res := &Results{
		Timestamp: "2026-01-01T00:00:00Z",
		Machine:   machineInfo(),
		Config:    Config{RoomSize: 6, Rate: 10000, Window: 1024, Duration: time.Second, ChurnPairs: 2},
		Servers:   []*serverKind{{Name: "RedRTC", Smoke: "pass"}, {Name: "baseline", Smoke: "pass"}},
		Idle: []IdleResult{
			{Server: "RedRTC", Clients: 1000, Connected: 1000, Joined: 1000, ConnectRate: 9000, RSSEmptyKB: 5000, RSSJoinedKB: 7000, PerConnJoined: 2},
			{Server: "baseline", Clients: 1000, Connected: 1000, Joined: 1000, ConnectRate: 9000, RSSEmptyKB: 5000, RSSJoinedKB: 37000, PerConnJoined: 32},
		},
		Relay: []RelayResult{
			{Server: "RedRTC", Clients: 1000, Mode: "rate", TargetRate: 10000, Sent: 10, Received: 10, ExactlyOnce: true, CPUPerMsgUs: 20,
				Percentiles: []Percentile{{0, 100}, {50, 200}, {99, 900}, {100, 1000}}},
			{Server: "baseline", Clients: 1000, Mode: "rate", TargetRate: 10000, Sent: 10, Received: 9, CPUPerMsgUs: 60,
				Percentiles: []Percentile{{0, 100}, {50, 300}, {99, 9000}, {100, 10000}}},
		},
	}
	tableHas(t, res, "| RSS per client, joined (KiB) | 2.00 | 32.00 | 16.00× |", "| server CPU per message (µs) | 20.00 | 60.00 | 3.00× |", "NO: 9/10 received")
	if err := writeChart(res, filepath.Join(t.TempDir(), "c.png")); err != nil {
		t.Fatal(err)
	}
}

// tableHas checks that res's Markdown table holds every wanted line part.
func tableHas(t *testing.T, res *Results, wants ...string) {
	t.Helper()
	var out bytes.Buffer
	writeMarkdown(&out, res)
	s := out.String()
	for _, want := range wants {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
}

func TestEachOtherServerGetsARatioToRedRTC(t *testing.T) {
	res := &Results{
		Timestamp: "2026-01-01T00:00:00Z",
		Machine:   machineInfo(),
		Config:    Config{RoomSize: 6, Rate: 10000, Window: 1024, Duration: time.Second, ChurnPairs: 2},
		Servers: []*serverKind{{Name: "RedRTC", Smoke: "pass"}, {Name: "baseline", Smoke: "pass"},
			{Name: floorName, Binary: "/tmp/floor", Smoke: "skipped"}},
		Relay: []RelayResult{
			{Server: "RedRTC", Clients: 1000, Mode: "max", Sent: 10, Received: 10, ExactlyOnce: true, CPUPerMsgUs: 20},
			{Server: "baseline", Clients: 1000, Mode: "max", Sent: 10, Received: 10, ExactlyOnce: true, CPUPerMsgUs: 60},
			{Server: floorName, Clients: 1000, Mode: "max", Sent: 10, Received: 10, ExactlyOnce: true, CPUPerMsgUs: 25},
		},
	}
	tableHas(t, res,
		"| RedRTC | baseline | floor | baseline/RedRTC | floor/RedRTC |",
		"| server CPU per message (µs) | 20.00 | 60.00 | 25.00 | 3.00× | 1.25× |",
		"floor/RedRTC above 1 means the floor needs more",
		"- floor: /tmp/floor; protocol smoke test: skipped")
	if res.failed() {
		t.Error("a skipped smoke test counts as a failure")
	}
}

func TestRepeatedRunsShowTheMedianAndTheRange(t *testing.T) {
	relay := func(server string, cpu float64, err string) RelayResult {
		return RelayResult{Server: server, Clients: 1000, Mode: "max", Sent: 10, Received: 10, ExactlyOnce: err == "", CPUPerMsgUs: cpu, Err: err}
	}
	res := &Results{
		Timestamp: "2026-01-01T00:00:00Z",
		Machine:   machineInfo(),
		Config:    Config{RoomSize: 6, Rate: 10000, Window: 1024, Duration: time.Second, ChurnPairs: 2, Repeat: 3},
		Servers:   []*serverKind{{Name: "RedRTC", Smoke: "pass"}, {Name: "baseline", Smoke: "pass"}},
		Idle: []IdleResult{
			{Server: "RedRTC", Clients: 1000, Connected: 1000, Joined: 1000, PerConnJoined: 2},
			{Server: "baseline", Clients: 1000, Connected: 1000, Joined: 1000, PerConnJoined: 32},
		},
		Relay: []RelayResult{
			relay("RedRTC", 30, ""), relay("baseline", 60, ""),
			relay("RedRTC", 20, ""), relay("baseline", 90, ""),
			relay("RedRTC", 25, ""), relay("baseline", 70, ""),
		},
		Churn: []ChurnResult{
			{Server: "RedRTC", Pairs: 2, Sessions: 9, CPUPerSession: 100},
			{Server: "baseline", Pairs: 2, Sessions: 9, CPUPerSession: 200},
			{Server: "RedRTC", Pairs: 2, Sessions: 9, CPUPerSession: 110, Round: 1},
			{Server: "baseline", Pairs: 2, Sessions: 0, Err: "refused", Round: 1},
		},
	}
	for i := range res.Relay {
		res.Relay[i].Round = i / 2
	}
	res.Relay[3].Received, res.Relay[3].ExactlyOnce = 9, false // the baseline's second run lost one
	tableHas(t, res,
		"median of the runs",
		"| relay, max | 1,000 | server CPU per message (µs) | 25.00 (20.00–30.00) | 70.00 (60.00–90.00) | 2.80× |",
		"| RSS per client, joined (KiB) | 2.00 | 32.00 | 16.00× |", // idle runs once
		"| churn | 4 at once | server CPU per session (µs) | 105.0 (100.0–110.0) | 200.0 / error | — |",
		"churn baseline (run 2 of 3): ERROR refused",
		"| relay, max | 1,000 | delivered exactly once | yes, in each of 3 runs | yes, 10/10 / NO: 9/10 received, 0 dup, 0 phantom, 0 misattributed, 0 stale, 0 malformed / yes, 10/10 | — |")
	if err := writeChart(res, filepath.Join(t.TempDir(), "c.png")); err != nil {
		t.Fatal(err)
	}
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

// TestTheRedRTCItBuildsNamesItsCommit: the results record RedRTC's
// --version, which must tie them to the commit measured.
func TestTheRedRTCItBuildsNamesItsCommit(t *testing.T) {
	if redrtcErr != nil {
		t.Fatalf("building RedRTC: %v", redrtcErr)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	want := gitDescribe(context.Background(), root)
	if want == "" {
		t.Skip("not a git checkout")
	}
	if v := versionOf(redrtcBin); !strings.Contains(v, "(commit "+want+",") {
		t.Fatalf("RedRTC --version %q, want it to name commit %s", v, want)
	}
}

// TestFixedRateLatencyCountsFromWhenAMessageWasDue: at 1,000 msgs/s message
// 9 falls due 10 ms after the start; its latency is counted from then (plus
// the loop's 1 ms tick), however late it really went out.
func TestFixedRateLatencyCountsFromWhenAMessageWasDue(t *testing.T) {
	const ms = int64(time.Millisecond)
	start := 1000 * ms
	for _, tc := range []struct {
		name      string
		now, seq  int64
		rate      float64
		wantStamp int64
	}{
		{"sent as it fell due", start + 10*ms, 9, 1000, start + 10*ms},
		{"sent within the loop's tick", start + 10*ms + ms/2, 9, 1000, start + 10*ms + ms/2},
		{"held back 40 ms", start + 50*ms, 9, 1000, start + 11*ms},
		{"as fast as possible: the time sent", start + 50*ms, 9, 0, start + 50*ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sentStamp(tc.now, start, tc.seq, tc.rate); got != tc.wantStamp {
				t.Fatalf("stamp %d ms after the start, want %d", (got-start)/ms, (tc.wantStamp-start)/ms)
			}
		})
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
	a, b := &serverKind{Name: "RedRTC"}, &serverKind{Name: "baseline"}
	kinds := []*serverKind{a, b}
	for round, want := range [][]*serverKind{{a, b}, {b, a}, {a, b}} {
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
	for _, rr := range r.relay(ctx, k, n) {
		if rr.Err != "" || !rr.ExactlyOnce {
			t.Fatalf("relay %s: %+v", rr.Mode, rr)
		}
	}
	r.relay(ctx, k, n) // a second run gets files of its own
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
	p := &serverProc{kind: &serverKind{Name: "RedRTC"}, debugHost: debug.Addr().String()}
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
