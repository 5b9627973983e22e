package main

// The scenarios, each run against every server in turn on a fresh server
// process: idle (connect, join, hold, leave, disconnect, with memory at each
// stage), relay (a fixed rate, then as fast as a window allows) and churn.

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Config is the benchmark's settings, from the flags.
type Config struct {
	Scenarios      []string      `json:"scenarios"`
	Levels         []int         `json:"levels"`
	RoomSize       int           `json:"roomSize"`
	Rate           float64       `json:"rate"`
	Window         int           `json:"window"`
	Duration       time.Duration `json:"durationNs"`
	Warmup         time.Duration `json:"warmupNs"`
	Drain          time.Duration `json:"drainNs"`
	Settle         time.Duration `json:"settleNs"`
	ChurnPairs     int           `json:"churnPairs"`
	ChurnDuration  time.Duration `json:"churnDurationNs"`
	ConnectPending int           `json:"connectConcurrency"`
	Loops          int           `json:"loopsPerWorker"`
	MinWorkers     int           `json:"minWorkers"`
	SDPBytes       int           `json:"sdpBytes"`
	CandidateBytes int           `json:"candidateBytes"`
	StepTimeout    time.Duration `json:"stepTimeoutNs"`
	// Repeat is how many times each relay and churn measurement runs, the
	// servers taking turns, each run on a fresh server.
	Repeat int `json:"repeat,omitempty"`
}

// IdleResult is one idle run.
type IdleResult struct {
	Server         string  `json:"server"`
	Clients        int     `json:"clients"`
	Connected      int     `json:"connected"`
	Joined         int     `json:"joined"`
	ConnectSeconds float64 `json:"connectSeconds"`
	ConnectRate    float64 `json:"connectRate"`
	JoinSeconds    float64 `json:"joinSeconds"`
	HealthClients  int     `json:"healthClients"`
	HealthRooms    int     `json:"healthRooms"`
	RSSEmptyKB     int64   `json:"rssEmptyKB"`
	RSSJoinedKB    int64   `json:"rssJoinedKB"`
	RSSLeftKB      int64   `json:"rssLeftKB"`
	RSSClosedKB    int64   `json:"rssClosedKB"`
	PerConnJoined  float64 `json:"perConnJoinedKB"`
	PerConnLeft    float64 `json:"perConnLeftKB"`
	PerConnClosed  float64 `json:"perConnClosedKB"`
	// The server's Go heap (live and not yet swept objects, from /healthz's
	// heapBytes) at the same four points; absent for a server that does not
	// report it.
	HeapEmptyKB  *int64         `json:"heapEmptyKB,omitempty"`
	HeapJoinedKB *int64         `json:"heapJoinedKB,omitempty"`
	HeapLeftKB   *int64         `json:"heapLeftKB,omitempty"`
	HeapClosedKB *int64         `json:"heapClosedKB,omitempty"`
	Failures     map[string]int `json:"failures,omitempty"`
	ServerErrors map[string]int `json:"serverErrors,omitempty"`
	Err          string         `json:"error,omitempty"`
}

// RelayResult is one relay run.
type RelayResult struct {
	Server        string         `json:"server"`
	Round         int            `json:"round,omitempty"` // with -repeat: which run, from 0
	Clients       int            `json:"clients"`
	Mode          string         `json:"mode"` // "rate" or "max"
	TargetRate    float64        `json:"targetRate,omitempty"`
	Window        int            `json:"window"`
	Seconds       float64        `json:"seconds"`
	Senders       int            `json:"senders"`
	Sent          int64          `json:"sent"`
	Received      int64          `json:"received"`
	Duplicates    int64          `json:"duplicates"`
	Phantom       int64          `json:"phantom"`
	Stale         int64          `json:"stale"`
	Misattributed int64          `json:"misattributed"`
	Malformed     int64          `json:"malformed"`
	ExactlyOnce   bool           `json:"exactlyOnce"`
	OfferedRate   float64        `json:"offeredRate"`
	DeliveredRate float64        `json:"deliveredRate"`
	MBPerSec      float64        `json:"mbPerSec"`
	P50us         float64        `json:"p50us"`
	P99us         float64        `json:"p99us"`
	P999us        float64        `json:"p999us"`
	MaxUs         float64        `json:"maxUs"`
	MeanUs        float64        `json:"meanUs"`
	ServerCPUSec  float64        `json:"serverCpuSeconds"`
	ServerCPUPct  float64        `json:"serverCpuPercent"`
	CPUPerMsgUs   float64        `json:"serverCpuPerMsgUs"`
	LoadgenCPUPct float64        `json:"loadgenCpuPercent"`
	OtherCPUPct   float64        `json:"otherCpuPercent"`
	ServerRSSKB   int64          `json:"serverRssKB"`
	Percentiles   []Percentile   `json:"percentiles,omitempty"`
	Failures      map[string]int `json:"failures,omitempty"`
	ServerErrors  map[string]int `json:"serverErrors,omitempty"`
	Err           string         `json:"error,omitempty"`
}

// Percentile is one point of a latency distribution.
type Percentile struct {
	Quantile float64 `json:"q"` // 0-100
	Micros   float64 `json:"us"`
}

// ChurnResult is one churn run.
type ChurnResult struct {
	Server         string         `json:"server"`
	Round          int            `json:"round,omitempty"` // with -repeat: which run, from 0
	Pairs          int            `json:"pairs"`
	Seconds        float64        `json:"seconds"`
	Sessions       int64          `json:"sessions"`
	SessionsPerSec float64        `json:"sessionsPerSec"`
	Failures       int64          `json:"failures"`
	Unfinished     int64          `json:"unfinished"`
	ServerCPUSec   float64        `json:"serverCpuSeconds"`
	ServerCPUPct   float64        `json:"serverCpuPercent"`
	CPUPerSession  float64        `json:"serverCpuPerSessionUs"`
	LoadgenCPUPct  float64        `json:"loadgenCpuPercent"`
	OtherCPUPct    float64        `json:"otherCpuPercent"`
	P50ms          float64        `json:"p50ms"`
	P99ms          float64        `json:"p99ms"`
	Reasons        map[string]int `json:"failureReasons,omitempty"`
	ServerErrors   map[string]int `json:"serverErrors,omitempty"`
	Err            string         `json:"error,omitempty"`
}

// runner runs scenarios.
type runner struct {
	cfg    Config
	limits Limits
	logDir string
	runID  string
	seq    int
	logf   func(format string, args ...any)
	// prof takes profiles during the run; nil without -profile.
	prof *profiler
}

func (r *runner) workerBase(p *serverProc, joiners int) Command {
	r.seq++
	loops := r.cfg.Loops
	return Command{
		Host:           p.host,
		Path:           p.path,
		RoomSize:       r.cfg.RoomSize,
		RoomPrefix:     "b" + r.runID + "-" + strconv.Itoa(r.seq) + "-",
		Joiners:        joiners,
		SrcIPs:         r.limits.SrcIPs,
		Loops:          loops,
		MaxPending:     max(1, r.cfg.ConnectPending/max(1, loops)),
		SDPBytes:       r.cfg.SDPBytes,
		CandidateBytes: r.cfg.CandidateBytes,
	}
}

// clientsFor is the --clients a server gets for n clients: a little slack,
// within what its descriptor limit lets it hold.
func (r *runner) clientsFor(n int) int {
	c := n + 64
	if r.limits.ServerMax > 0 {
		c = min(c, max(n, r.limits.ServerMax))
	}
	return c
}

// roomsFor is the --rooms a server needs for n clients.
func (r *runner) roomsFor(n int) int {
	return min(protocolMaxRooms, (n+r.cfg.RoomSize-1)/r.cfg.RoomSize+64)
}

// joinersFor is how many of n clients can be in rooms under --rooms' maximum.
func (r *runner) joinersFor(n int) int { return min(n, protocolMaxRooms*r.cfg.RoomSize) }

// stepTimeout scales the step deadline with the number of clients.
func (r *runner) stepTimeout(n int) time.Duration {
	return r.cfg.StepTimeout + time.Duration(n)*time.Millisecond
}

// connectAndJoin starts the workers and brings n clients into their rooms.
func (r *runner) connectAndJoin(ctx context.Context, p *serverProc, n int) (*pool, Report, Report, error) {
	var conn, join Report
	shares := planWorkers(n, r.cfg.RoomSize, r.limits.WorkerMax, r.cfg.MinWorkers)
	base := r.workerBase(p, r.joinersFor(n))
	// Keep the machine's cores for the loops, across all workers.
	if r.cfg.Loops <= 0 {
		base.Loops = max(1, cpuCount()/len(shares))
		base.MaxPending = max(1, r.cfg.ConnectPending/(base.Loops*len(shares)))
	}
	pl, err := startPool(ctx, base, shares)
	if err != nil {
		return nil, conn, join, err
	}
	timeout := r.stepTimeout(n)
	conn, err = pl.all(ctx, Command{Op: "connect", TimeoutNs: int64(timeout)}, timeout+30*time.Second)
	if err != nil {
		pl.stop()
		return nil, conn, join, err
	}
	if conn.Done == 0 {
		pl.stop()
		return nil, conn, join, fmt.Errorf("no client connected: %v", conn.Reasons)
	}
	join, err = pl.all(ctx, Command{Op: "join", TimeoutNs: int64(timeout)}, timeout+30*time.Second)
	if err != nil {
		pl.stop()
		return nil, conn, join, err
	}
	return pl, conn, join, nil
}

func settle(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// settleMemory waits d, then for as long as the server's RSS is still
// falling (read every d/4; at most 5 s more), so that memory handed back a
// little late — a collection the server starts once a burst of departures
// is over — is counted as handed back. A server whose RSS stays flat waits
// d, as before.
func settleMemory(ctx context.Context, p *serverProc, d time.Duration) {
	settle(ctx, d)
	if p.pid == 0 || d <= 0 {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	last := rssOf(p)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		settle(ctx, d/4)
		now := rssOf(p)
		if now >= last-last/100 { // not falling by 1 % or more
			return
		}
		last = now
	}
}

func rssOf(p *serverProc) int64 {
	if p.pid == 0 {
		return 0
	}
	kb, _ := procRSS(p.pid)
	return kb
}

// heapOf returns the Go heap p's /healthz reports, in KiB, or nil.
func heapOf(p *serverProc) *int64 {
	h, err := p.health()
	if err != nil {
		return nil
	}
	return h.heapKB()
}

// heapKB is the reported Go heap in KiB, or nil when the server reports none.
func (h healthReport) heapKB() *int64 {
	if h.HeapBytes == nil {
		return nil
	}
	kb := int64(*h.HeapBytes / 1024)
	return &kb
}

// idle measures connecting, holding, leaving and disconnecting n clients.
func (r *runner) idle(ctx context.Context, k *serverKind, n int) IdleResult {
	res := IdleResult{Server: k.Name, Clients: n}
	p, err := startServer(ctx, k, r.clientsFor(n), r.roomsFor(n), r.logDir, r.prof.heapEnv(k)...)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer p.stop()
	settle(ctx, r.cfg.Settle)
	res.RSSEmptyKB, res.HeapEmptyKB = rssOf(p), heapOf(p)

	pl, conn, join, err := r.connectAndJoin(ctx, p, n)
	res.Connected, res.Joined = conn.Done, join.Done
	if conn.LastNs > conn.StartNs {
		res.ConnectSeconds = float64(conn.LastNs-conn.StartNs) / 1e9
		res.ConnectRate = float64(conn.Done) / res.ConnectSeconds
	}
	if join.LastNs > join.StartNs {
		res.JoinSeconds = float64(join.LastNs-join.StartNs) / 1e9
	}
	fails := conn.clone()
	fails.merge(join)
	res.Failures, res.ServerErrors = fails.Reasons, fails.Errors
	if err != nil {
		res.Err = err.Error()
		return res
	}
	// Measured all the same, but a figure per client of a run that did not
	// reach its N is not the figure its row names: the run fails.
	if conn.Failed > 0 || join.Failed > 0 {
		res.Err = fmt.Sprintf("only %d of %d clients connected and %d joined", conn.Done, n, join.Done)
	}
	defer pl.stop()
	settle(ctx, r.cfg.Settle)
	res.RSSJoinedKB = rssOf(p)
	if h, err := p.health(); err == nil {
		res.HealthClients, res.HealthRooms, res.HeapJoinedKB = h.Clients, h.Rooms, h.heapKB()
	}
	r.prof.heap(ctx, p, profileBase(p, "idle", n))

	timeout := r.stepTimeout(n)
	leave, err := pl.all(ctx, Command{Op: "leave", TimeoutNs: int64(timeout)}, timeout+30*time.Second)
	fails.merge(leave)
	if err != nil && res.Err == "" {
		res.Err = err.Error()
	}
	settleMemory(ctx, p, r.cfg.Settle)
	res.RSSLeftKB, res.HeapLeftKB = rssOf(p), heapOf(p)

	closed, err := pl.all(ctx, Command{Op: "close", TimeoutNs: int64(timeout)}, timeout+30*time.Second)
	fails.merge(closed)
	if err != nil && res.Err == "" {
		res.Err = err.Error()
	}
	settleMemory(ctx, p, r.cfg.Settle)
	res.RSSClosedKB, res.HeapClosedKB = rssOf(p), heapOf(p)
	res.Failures, res.ServerErrors = fails.Reasons, fails.Errors

	if res.Connected > 0 && res.RSSEmptyKB > 0 {
		per := func(kb int64) float64 { return float64(kb-res.RSSEmptyKB) / float64(res.Connected) }
		res.PerConnJoined, res.PerConnLeft, res.PerConnClosed = per(res.RSSJoinedKB), per(res.RSSLeftKB), per(res.RSSClosedKB)
	}
	if !p.alive() {
		res.Err = "the server exited during the run:\n" + p.logTail()
	}
	return res
}

// cpuWindow is what cpuSampler measured.
type cpuWindow struct {
	server  float64 // server CPU seconds
	wall    float64 // seconds between the two readings
	machine float64 // CPU seconds of all CPUs busy, everything included
}

// otherPct is the CPU, in % of one core, that neither the server nor the
// load generator used: other processes, or the hypervisor's steal.
func (c cpuWindow) otherPct(loadgenNs int64) float64 {
	if c.wall <= 0 || c.machine <= 0 {
		return 0
	}
	return max(0, 100*(c.machine-c.server-float64(loadgenNs)/1e9)/c.wall)
}

// cpuSampler reads a process's CPU time, and the machine's, at two instants.
func cpuSampler(pid int, start, end time.Time) <-chan cpuWindow {
	ch := make(chan cpuWindow, 1)
	go func() {
		time.Sleep(time.Until(start))
		a, _ := procCPU(pid)
		ma, _ := machineBusy()
		t0 := time.Now()
		time.Sleep(time.Until(end))
		b, _ := procCPU(pid)
		mb, _ := machineBusy()
		w := cpuWindow{wall: time.Since(t0).Seconds(), machine: (mb - ma).Seconds()}
		if pid != 0 {
			w.server = (b - a).Seconds()
		}
		ch <- w
	}()
	return ch
}

// relay measures relaying among n clients: at the configured rate, then as
// fast as the window allows.
func (r *runner) relay(ctx context.Context, k *serverKind, n int) []RelayResult {
	fail := func(err error) []RelayResult {
		return []RelayResult{{Server: k.Name, Clients: n, Mode: "rate", TargetRate: r.cfg.Rate, Err: err.Error()},
			{Server: k.Name, Clients: n, Mode: "max", Err: err.Error()}}
	}
	p, err := startServer(ctx, k, r.clientsFor(n), r.roomsFor(n), r.logDir)
	if err != nil {
		return fail(err)
	}
	defer p.stop()
	pl, conn, join, err := r.connectAndJoin(ctx, p, n)
	if err != nil {
		return fail(fmt.Errorf("%v (connect: %d/%d, join: %d/%d)", err, conn.Done, conn.Total, join.Done, join.Total))
	}
	defer pl.stop()

	var out []RelayResult
	modes := []struct {
		name   string
		rate   float64
		window int
	}{
		// At a fixed rate the window only bounds a server that falls behind.
		{"rate", r.cfg.Rate, max(r.cfg.Window, int(r.cfg.Rate))},
		{"max", 0, r.cfg.Window},
	}
	for _, m := range modes {
		if ctx.Err() != nil {
			break
		}
		if m.name == "rate" && r.cfg.Rate <= 0 {
			continue
		}
		res := r.relayOnce(ctx, p, pl, n, m.name, m.rate, m.window)
		res.Server = k.Name
		if res.Err == "" && (conn.Failed > 0 || join.Failed > 0) {
			res.Err = fmt.Sprintf("only %d of %d clients connected and %d joined", conn.Done, n, join.Done)
		}
		out = append(out, res)
		if !p.alive() {
			out[len(out)-1].Err = "the server exited during the run:\n" + p.logTail()
			break
		}
	}
	return out
}

func (r *runner) relayOnce(ctx context.Context, p *serverProc, pl *pool, n int, mode string, rate float64, window int) RelayResult {
	res := RelayResult{Clients: n, Mode: mode, TargetRate: rate, Window: window}
	start := time.Now().Add(100 * time.Millisecond)
	ms := start.Add(r.cfg.Warmup)
	me := ms.Add(r.cfg.Duration)
	cpu := cpuSampler(p.pid, ms, me)
	profiled := r.prof.cpu(ctx, p, profileBase(p, "relay", n, mode), ms, r.cfg.Duration)
	timeout := time.Until(me) + r.cfg.Drain + 30*time.Second
	reps, err := pl.each(ctx, func(w *workerProc) Command {
		share := float64(w.setup.Clients) / float64(pl.clients)
		return Command{
			Op:           "relay",
			Rate:         rate * share,
			Window:       max(1, int(float64(window)*share+0.5)),
			MeasureStart: ms.UnixNano(),
			MeasureEnd:   me.UnixNano(),
			DrainNs:      int64(r.cfg.Drain),
			TimeoutNs:    int64(time.Until(me) + r.cfg.Drain),
		}
	}, timeout)
	var rep Report
	for _, x := range reps {
		rep.merge(x)
	}
	profiled(err != nil || rep.Err != "")
	var c cpuWindow
	select {
	case c = <-cpu:
	case <-time.After(5 * time.Second):
	}
	res.ServerRSSKB = rssOf(p)
	if err == nil && rep.Err != "" {
		err = fmt.Errorf("%s", rep.Err)
	}
	if err != nil {
		res.Err = err.Error()
	}
	res.Failures, res.ServerErrors = rep.Reasons, rep.Errors
	st := rep.Relay
	if st == nil {
		if res.Err == "" {
			res.Err = "no relay statistics"
		}
		return res
	}
	secs := r.cfg.Duration.Seconds()
	res.Seconds = secs
	res.Senders = st.Senders
	res.Sent, res.Received, res.Duplicates = st.Sent, st.Received, st.Duplicates
	res.Phantom, res.Stale, res.Misattributed, res.Malformed = st.Phantom, st.Stale, st.Misattributed, st.Malformed
	res.ExactlyOnce = st.Sent > 0 && st.Sent == st.Received && st.Duplicates == 0 && st.Phantom == 0 &&
		st.Stale == 0 && st.Misattributed == 0 && st.Malformed == 0
	res.OfferedRate = float64(st.SentWin) / secs
	res.DeliveredRate = float64(st.RecvInWin) / secs
	res.MBPerSec = float64(st.BytesInWin) / secs / 1e6
	if st.Hist != nil {
		h := hdrhistogram.Import(st.Hist)
		if h.TotalCount() > 0 {
			res.P50us = float64(h.ValueAtQuantile(50))
			res.P99us = float64(h.ValueAtQuantile(99))
			res.P999us = float64(h.ValueAtQuantile(99.9))
			res.MaxUs = float64(h.Max())
			res.MeanUs = h.Mean()
			res.Percentiles = percentiles(h)
		}
	}
	if c.wall > 0 && p.pid != 0 {
		res.ServerCPUSec = c.server
		res.ServerCPUPct = 100 * c.server / c.wall
		if st.RecvInWin > 0 {
			res.CPUPerMsgUs = c.server * 1e6 / float64(st.RecvInWin)
		}
	}
	res.LoadgenCPUPct = 100 * float64(rep.CPUNs) / 1e9 / secs
	res.OtherCPUPct = c.otherPct(rep.CPUNs)
	return res
}

// percentiles samples a latency distribution for the chart, log-spaced
// toward the tail: 0, 50, 75, 87.5, ... up to the largest value.
func percentiles(h *hdrhistogram.Histogram) []Percentile {
	var out []Percentile
	for i := 0; i <= 40; i++ {
		q := 100 * (1 - math.Pow(10, -float64(i)/8)) // 0, 25, 44, ... 99.999
		out = append(out, Percentile{Quantile: q, Micros: float64(h.ValueAtQuantile(q))})
	}
	out = append(out, Percentile{Quantile: 100, Micros: float64(h.Max())})
	return out
}

// churn measures sessions per second with the configured concurrent pairs.
func (r *runner) churn(ctx context.Context, k *serverKind) ChurnResult {
	res := ChurnResult{Server: k.Name, Pairs: r.cfg.ChurnPairs}
	conns := 2 * r.cfg.ChurnPairs
	p, err := startServer(ctx, k, r.clientsFor(conns), min(protocolMaxRooms, r.cfg.ChurnPairs+64), r.logDir)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer p.stop()
	base := r.workerBase(p, 0)
	if r.cfg.Loops <= 0 {
		base.Loops = cpuCount()
	}
	pl, err := startPool(ctx, base, [][2]int{{0, 0}})
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer pl.stop()
	start := time.Now().Add(100 * time.Millisecond)
	ms := start.Add(r.cfg.Warmup)
	me := ms.Add(r.cfg.ChurnDuration)
	cpu := cpuSampler(p.pid, ms, me)
	profiled := r.prof.cpu(ctx, p, profileBase(p, "churn", r.cfg.ChurnPairs), ms, r.cfg.ChurnDuration)
	rep, err := pl.all(ctx, Command{
		Op:           "churn",
		Pairs:        r.cfg.ChurnPairs,
		MeasureStart: ms.UnixNano(),
		MeasureEnd:   me.UnixNano(),
		DrainNs:      int64(r.cfg.Drain),
		TimeoutNs:    int64(time.Until(me) + r.cfg.Drain),
	}, time.Until(me)+r.cfg.Drain+30*time.Second)
	profiled(err != nil || rep.Err != "")
	var c cpuWindow
	select {
	case c = <-cpu:
	case <-time.After(5 * time.Second):
	}
	if err != nil {
		res.Err = err.Error()
	}
	res.Reasons, res.ServerErrors = rep.Reasons, rep.Errors
	st := rep.Churn
	if st == nil {
		if res.Err == "" {
			res.Err = "no churn statistics"
		}
		return res
	}
	secs := r.cfg.ChurnDuration.Seconds()
	res.Seconds = secs
	res.Sessions = st.SessionsWin
	res.SessionsPerSec = float64(st.SessionsWin) / secs
	res.Failures, res.Unfinished = st.Failures, st.Unfinished
	if st.Hist != nil {
		h := hdrhistogram.Import(st.Hist)
		if h.TotalCount() > 0 {
			res.P50ms = float64(h.ValueAtQuantile(50)) / 1000
			res.P99ms = float64(h.ValueAtQuantile(99)) / 1000
		}
	}
	if c.wall > 0 && p.pid != 0 {
		res.ServerCPUSec = c.server
		res.ServerCPUPct = 100 * c.server / c.wall
		if st.SessionsWin > 0 {
			res.CPUPerSession = c.server * 1e6 / float64(st.SessionsWin)
		}
	}
	res.LoadgenCPUPct = 100 * float64(rep.CPUNs) / 1e9 / secs
	res.OtherCPUPct = c.otherPct(rep.CPUNs)
	if !p.alive() {
		res.Err = "the server exited during the run:\n" + p.logTail()
	}
	return res
}

func cpuCount() int {
	n := 0
	if b, err := os.ReadFile("/sys/fs/cgroup/cpu.max"); err == nil {
		var quota, period int
		if _, err := fmt.Sscanf(string(b), "%d %d", &quota, &period); err == nil && period > 0 {
			n = (quota + period - 1) / period
		}
	}
	if c := numCPU(); n == 0 || c < n {
		n = c
	}
	return max(1, n)
}
