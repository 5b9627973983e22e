package orchestrate

// The scenarios, each run against every server in turn on a fresh server
// process: idle (connect, join, hold, leave, disconnect, with memory at each
// stage), relay (a fixed rate, then as fast as a window allows) and churn.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/redrtc/redrtc/bench/internal/ipc"
	"github.com/redrtc/redrtc/bench/internal/limits"
	"github.com/redrtc/redrtc/bench/internal/procfs"
	"github.com/redrtc/redrtc/bench/internal/results"
	"github.com/redrtc/redrtc/bench/internal/target"
)

// runner runs scenarios.
type runner struct {
	cfg    results.Settings
	limits limits.Limits
	logDir string
	runID  string
	seq    int
	logf   func(format string, args ...any)
	// prof takes profiles during the run; nil without -profile.
	prof *profiler
}

func (r *runner) workerBase(p *target.Process, joiners int) ipc.Command {
	r.seq++
	loops := r.cfg.Loops
	return ipc.Command{
		Host:           p.Host,
		Path:           p.Path,
		RoomSize:       r.cfg.RoomSize,
		RoomPrefix:     "b" + r.runID + "-" + strconv.Itoa(r.seq) + "-",
		Joiners:        joiners,
		SrcIPs:         r.limits.SrcIPs,
		Loops:          loops,
		MaxPending:     max(1, r.cfg.ConnectPending/max(1, loops)),
		SDPBytes:       r.cfg.SDPBytes,
		CandidateBytes: r.cfg.CandidateBytes,
		Token:          p.Server.Token,
	}
}

// clientsFor is the --clients a server gets for n clients: a little slack,
// within what its descriptor limit lets it hold.
func (r *runner) clientsFor(n int) int {
	// Spare seats: a resuming client holds its session's seat and its new
	// connection's at once, until the resume hands the session over.
	c := n + max(64, n/8)
	if r.limits.ServerMax > 0 {
		c = min(c, max(n, r.limits.ServerMax))
	}
	return c
}

// roomsFor is the --rooms a server needs for n clients.
func (r *runner) roomsFor(n int) int {
	return min(limits.ProtocolMaxRooms, (n+r.cfg.RoomSize-1)/r.cfg.RoomSize+64)
}

// joinersFor is how many of n clients can be in rooms under --rooms' maximum.
func (r *runner) joinersFor(n int) int { return min(n, limits.ProtocolMaxRooms*r.cfg.RoomSize) }

// stepTimeout scales the step deadline with the number of clients.
func (r *runner) stepTimeout(n int) time.Duration {
	return r.cfg.StepTimeout + time.Duration(n)*time.Millisecond
}

// connectAndJoin starts the workers and brings n clients into their rooms.
func (r *runner) connectAndJoin(ctx context.Context, p *target.Process, n int) (*pool, ipc.Report, ipc.Report, error) {
	return r.connectAndJoinWith(ctx, r.workerBase(p, r.joinersFor(n)), n)
}

// connectAndJoinWith is connectAndJoin for the workers' setup base (a
// cluster's sets its nodes' Hosts).
func (r *runner) connectAndJoinWith(ctx context.Context, base ipc.Command, n int) (*pool, ipc.Report, ipc.Report, error) {
	var conn, join ipc.Report
	shares := planWorkers(n, r.cfg.RoomSize, r.limits.WorkerMax, r.cfg.MinWorkers)
	// Keep the machine's cores for the loops, across all workers.
	if r.cfg.Loops <= 0 {
		base.Loops = max(1, procfs.CPUs()/len(shares))
		base.MaxPending = max(1, r.cfg.ConnectPending/(base.Loops*len(shares)))
	}
	pl, err := startPool(ctx, base, shares)
	if err != nil {
		return nil, conn, join, err
	}
	timeout := r.stepTimeout(n)
	conn, err = pl.all(ctx, ipc.Command{Op: "connect", TimeoutNs: int64(timeout)}, timeout+30*time.Second)
	if err != nil {
		pl.stop()
		return nil, conn, join, err
	}
	if conn.Done == 0 {
		pl.stop()
		return nil, conn, join, fmt.Errorf("no client connected: %v", conn.Reasons)
	}
	join, err = pl.all(ctx, ipc.Command{Op: "join", TimeoutNs: int64(timeout)}, timeout+30*time.Second)
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

// settleMemory waits d, then for as long as the servers' RSS (summed) is
// still falling (read every d/4; at most 5 s more), so that memory handed
// back a little late — a collection the server starts once a burst of
// departures is over — is counted as handed back. A server whose RSS stays
// flat waits d, as before.
func settleMemory(ctx context.Context, d time.Duration, ps ...*target.Process) {
	settle(ctx, d)
	if !slices.ContainsFunc(ps, func(p *target.Process) bool { return p.PID != 0 }) || d <= 0 {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	last := rssSum(ps)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		settle(ctx, d/4)
		now := rssSum(ps)
		if now >= last-last/100 { // not falling by 1 % or more
			return
		}
		last = now
	}
}

func rssSum(ps []*target.Process) int64 {
	var sum int64
	for _, p := range ps {
		sum += rssOf(p)
	}
	return sum
}

func rssOf(p *target.Process) int64 {
	if p.PID == 0 {
		return 0
	}
	kb, _ := procfs.RSSKB(p.PID)
	return kb
}

// heapOf returns the Go heap p's /healthz reports, in KiB, or nil.
func heapOf(p *target.Process) *int64 {
	h, err := p.Health()
	if err != nil {
		return nil
	}
	return h.HeapKB()
}

// idle measures connecting, holding, leaving and disconnecting n clients.
func (r *runner) idle(ctx context.Context, k *target.Server, n int) results.IdleResult {
	res := results.IdleResult{Server: k.Name, Clients: n}
	p, err := target.Start(ctx, k, r.clientsFor(n), r.roomsFor(n), r.logDir, r.prof.heapEnv(k)...)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer p.Stop()
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
	fails := conn.Clone()
	fails.Merge(join)
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
	if h, err := p.Health(); err == nil {
		res.HealthClients, res.HealthRooms, res.HeapJoinedKB = h.Clients, h.Rooms, h.HeapKB()
	}
	r.prof.heap(ctx, p, profileBase(p, "idle", n))

	timeout := r.stepTimeout(n)
	leave, err := pl.all(ctx, ipc.Command{Op: "leave", TimeoutNs: int64(timeout)}, timeout+30*time.Second)
	fails.Merge(leave)
	if err != nil && res.Err == "" {
		res.Err = err.Error()
	}
	settleMemory(ctx, r.cfg.Settle, p)
	res.RSSLeftKB, res.HeapLeftKB = rssOf(p), heapOf(p)

	closed, err := pl.all(ctx, ipc.Command{Op: "close", TimeoutNs: int64(timeout)}, timeout+30*time.Second)
	fails.Merge(closed)
	if err != nil && res.Err == "" {
		res.Err = err.Error()
	}
	settleMemory(ctx, r.cfg.Settle, p)
	res.RSSClosedKB, res.HeapClosedKB = rssOf(p), heapOf(p)
	res.Failures, res.ServerErrors = fails.Reasons, fails.Errors

	if res.Connected > 0 && res.RSSEmptyKB > 0 {
		per := func(kb int64) float64 { return float64(kb-res.RSSEmptyKB) / float64(res.Connected) }
		res.PerConnJoined, res.PerConnLeft, res.PerConnClosed = per(res.RSSJoinedKB), per(res.RSSLeftKB), per(res.RSSClosedKB)
	}
	if !p.Alive() {
		res.Err = "the server exited during the run:\n" + p.LogTail()
	}
	return res
}

// cpuWindow is what cpuSampler measured.
type cpuWindow struct {
	server  float64   // server CPU seconds (all of procs)
	procs   []float64 // CPU seconds of each pid sampled
	wall    float64   // seconds between the two readings
	machine float64   // CPU seconds of all CPUs busy, everything included
}

// otherPct is the CPU, in % of one core, that neither the server nor the
// load generator used: other processes, or the hypervisor's steal.
func (c cpuWindow) otherPct(loadgenNs int64) float64 {
	if c.wall <= 0 || c.machine <= 0 {
		return 0
	}
	return max(0, 100*(c.machine-c.server-float64(loadgenNs)/1e9)/c.wall)
}

// cpuSampler reads the CPU time of the server's processes (a cluster's
// nodes and nats-server, or one server; none when pid 0), and the
// machine's, at two instants.
func cpuSampler(pids []int, start, end time.Time) <-chan cpuWindow {
	ch := make(chan cpuWindow, 1)
	read := func() []time.Duration {
		out := make([]time.Duration, len(pids))
		for i, pid := range pids {
			if pid != 0 {
				out[i], _ = procfs.CPUTime(pid)
			}
		}
		return out
	}
	go func() {
		time.Sleep(time.Until(start))
		a := read()
		ma, _ := procfs.MachineBusy()
		t0 := time.Now()
		time.Sleep(time.Until(end))
		b := read()
		mb, _ := procfs.MachineBusy()
		w := cpuWindow{wall: time.Since(t0).Seconds(), machine: (mb - ma).Seconds(), procs: make([]float64, len(pids))}
		for i := range pids {
			w.procs[i] = (b[i] - a[i]).Seconds()
			w.server += w.procs[i]
		}
		ch <- w
	}()
	return ch
}

// waitCPU is what sampler measured, or nothing if it is not done 5 s
// after the window.
func waitCPU(sampler <-chan cpuWindow) cpuWindow {
	select {
	case c := <-sampler:
		return c
	case <-time.After(5 * time.Second):
		return cpuWindow{}
	}
}

// relay measures relaying among n clients: at the configured rate, then as
// fast as the window allows.
// relayMode is one measurement of the relay step.
type relayMode struct {
	name   string
	rate   func(cfg results.Settings) float64 // 0: as fast as the window allows
	window func(cfg results.Settings) int
}

// relayModes are the relay scenario's: at the configured rate, then as
// fast as the window allows. At a fixed rate the window only bounds a
// server that falls behind.
var relayModes = []relayMode{
	{"rate", func(c results.Settings) float64 { return c.Rate }, func(c results.Settings) int { return max(c.Window, int(c.Rate)) }},
	{"max", func(results.Settings) float64 { return 0 }, func(c results.Settings) int { return c.Window }},
}

// resumeModes are the resume scenario's: relay at the configured rate
// while resumeFraction of the clients drop and resume every resumeEvery.
var resumeModes = []relayMode{relayModes[0]}

// resumeFraction of the clients drop and resume every resumeEvery, or
// three times in a shorter measurement.
const (
	resumeFraction = 0.1
	resumeEvery    = 3 * time.Second
)

func (r *runner) resumeEvery() time.Duration {
	return max(50*time.Millisecond, min(resumeEvery, (r.cfg.Warmup+r.cfg.Duration)/3))
}

func (r *runner) relay(ctx context.Context, k *target.Server, n int, modeList []relayMode) []results.RelayResult {
	fail := func(err error) []results.RelayResult {
		return []results.RelayResult{{Server: k.Name, Clients: n, Mode: "rate", TargetRate: r.cfg.Rate, Err: err.Error()},
			{Server: k.Name, Clients: n, Mode: "max", Err: err.Error()}}
	}
	p, err := target.Start(ctx, k, r.clientsFor(n), r.roomsFor(n), r.logDir)
	if err != nil {
		return fail(err)
	}
	defer p.Stop()
	pl, conn, join, err := r.connectAndJoin(ctx, p, n)
	if err != nil {
		return fail(fmt.Errorf("%v (connect: %d/%d, join: %d/%d)", err, conn.Done, conn.Total, join.Done, join.Total))
	}
	defer pl.stop()

	var out []results.RelayResult
	resume := len(modeList) > 0 && &modeList[0] == &resumeModes[0]
	for _, m := range modeList {
		if ctx.Err() != nil {
			break
		}
		rate := m.rate(r.cfg)
		if m.name == "rate" && rate <= 0 {
			continue
		}
		name := m.name
		if resume {
			name = "resume"
		}
		res := r.relayOnce(ctx, p, pl, n, name, rate, m.window(r.cfg))
		res.Server = k.Name
		if res.Err == "" && (conn.Failed > 0 || join.Failed > 0) {
			res.Err = fmt.Sprintf("only %d of %d clients connected and %d joined", conn.Done, n, join.Done)
		}
		out = append(out, res)
		if !p.Alive() {
			out[len(out)-1].Err = "the server exited during the run:\n" + p.LogTail()
			break
		}
	}
	return out
}

func (r *runner) relayOnce(ctx context.Context, p *target.Process, pl *pool, n int, mode string, rate float64, window int) results.RelayResult {
	ms, me := r.relayWindow()
	cpu := cpuSampler([]int{p.PID}, ms, me)
	profiled := r.prof.cpu(ctx, p, profileBase(p, "relay", n, mode), ms, r.cfg.Duration)
	rep, err := r.relaySend(ctx, pl, mode, rate, window, ms, me, "")
	profiled(err != nil || rep.Err != "")
	c := waitCPU(cpu)
	res := r.relayFigures(n, mode, rate, window, rep, err)
	res.ServerRSSKB = rssOf(p)
	r.cpuFigures(&res, c, rep) // a server with no pid shows no CPU (0)
	return res
}

// relayWindow is the measured window of a relay step that starts now.
func (r *runner) relayWindow() (ms, me time.Time) {
	ms = time.Now().Add(100 * time.Millisecond).Add(r.cfg.Warmup)
	return ms, ms.Add(r.cfg.Duration)
}

// relaySend runs one relay step on every worker, pairSet choosing the
// room-mates that send (layout.ParsePairSet; "" all), and merges their
// reports.
func (r *runner) relaySend(ctx context.Context, pl *pool, mode string, rate float64, window int, ms, me time.Time, pairSet string) (ipc.Report, error) {
	timeout := time.Until(me) + r.cfg.Drain + 30*time.Second
	reps, err := pl.each(ctx, func(w *workerProc) ipc.Command {
		share := float64(w.setup.Clients) / float64(pl.clients)
		cmd := ipc.Command{
			Op:           "relay",
			Rate:         rate * share,
			Window:       max(1, int(float64(window)*share+0.5)),
			PairSet:      pairSet,
			MeasureStart: ms.UnixNano(),
			MeasureEnd:   me.UnixNano(),
			DrainNs:      int64(r.cfg.Drain),
			TimeoutNs:    int64(time.Until(me) + r.cfg.Drain),
		}
		if mode == "resume" {
			cmd.ResumeFraction, cmd.ResumeEveryNs = resumeFraction, int64(r.resumeEvery())
		}
		return cmd
	}, timeout)
	var rep ipc.Report
	for _, x := range reps {
		rep.Merge(x)
	}
	return rep, err
}

// relayFigures are a relay step's figures from the workers' merged report,
// all but the server's CPU and memory.
func (r *runner) relayFigures(n int, mode string, rate float64, window int, rep ipc.Report, err error) results.RelayResult {
	res := results.RelayResult{Clients: n, Mode: mode, TargetRate: rate, Window: window}
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
	res.Resumes, res.ResumeFailed, res.ResumeDropped = st.Resumes, st.ResumeFailed, st.ResumeDropped
	if st.ResumeHist != nil {
		if h := hdrhistogram.Import(st.ResumeHist); h.TotalCount() > 0 {
			res.ResumeP50us, res.ResumeP99us = float64(h.ValueAtQuantile(50)), float64(h.ValueAtQuantile(99))
		}
	}
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
	res.LoadgenCPUPct = 100 * float64(rep.CPUNs) / 1e9 / secs
	return res
}

// cpuFigures adds the server's CPU over the window c to res.
func (r *runner) cpuFigures(res *results.RelayResult, c cpuWindow, rep ipc.Report) {
	if c.wall > 0 {
		res.ServerCPUSec = c.server
		res.ServerCPUPct = 100 * c.server / c.wall
		if rep.Relay != nil && rep.Relay.RecvInWin > 0 {
			res.CPUPerMsgUs = c.server * 1e6 / float64(rep.Relay.RecvInWin)
		}
	}
	res.OtherCPUPct = c.otherPct(rep.CPUNs)
}

// percentiles samples a latency distribution for the chart, log-spaced
// toward the tail: 0, 50, 75, 87.5, ... up to the largest value.
func percentiles(h *hdrhistogram.Histogram) []results.Percentile {
	var out []results.Percentile
	for i := 0; i <= 40; i++ {
		q := 100 * (1 - math.Pow(10, -float64(i)/8)) // 0, 25, 44, ... 99.999
		out = append(out, results.Percentile{Quantile: q, Micros: float64(h.ValueAtQuantile(q))})
	}
	out = append(out, results.Percentile{Quantile: 100, Micros: float64(h.Max())})
	return out
}

// churn measures sessions per second with the configured concurrent pairs.
func (r *runner) churn(ctx context.Context, k *target.Server) results.ChurnResult {
	res := results.ChurnResult{Server: k.Name, Pairs: r.cfg.ChurnPairs}
	conns := 2 * r.cfg.ChurnPairs
	p, err := target.Start(ctx, k, r.clientsFor(conns), min(limits.ProtocolMaxRooms, r.cfg.ChurnPairs+64), r.logDir)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer p.Stop()
	base := r.workerBase(p, 0)
	if r.cfg.Loops <= 0 {
		base.Loops = procfs.CPUs()
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
	cpu := cpuSampler([]int{p.PID}, ms, me)
	profiled := r.prof.cpu(ctx, p, profileBase(p, "churn", r.cfg.ChurnPairs), ms, r.cfg.ChurnDuration)
	rep, err := pl.all(ctx, ipc.Command{
		Op:           "churn",
		Pairs:        r.cfg.ChurnPairs,
		MeasureStart: ms.UnixNano(),
		MeasureEnd:   me.UnixNano(),
		DrainNs:      int64(r.cfg.Drain),
		TimeoutNs:    int64(time.Until(me) + r.cfg.Drain),
	}, time.Until(me)+r.cfg.Drain+30*time.Second)
	profiled(err != nil || rep.Err != "")
	c := waitCPU(cpu)
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
	if c.wall > 0 && p.PID != 0 {
		res.ServerCPUSec = c.server
		res.ServerCPUPct = 100 * c.server / c.wall
		if st.SessionsWin > 0 {
			res.CPUPerSession = c.server * 1e6 / float64(st.SessionsWin)
		}
	}
	res.LoadgenCPUPct = 100 * float64(rep.CPUNs) / 1e9 / secs
	res.OtherCPUPct = c.otherPct(rep.CPUNs)
	if !p.Alive() {
		res.Err = "the server exited during the run:\n" + p.LogTail()
	}
	return res
}
