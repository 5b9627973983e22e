// Package results holds what a bench run measured and writes it out: a
// Markdown table on stdout, the same figures as JSON and a PNG chart under
// bench/results/.
package results

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/redrtc/redrtc/bench/internal/limits"
	"github.com/redrtc/redrtc/bench/internal/numfmt"
	"github.com/redrtc/redrtc/bench/internal/procfs"
	"github.com/redrtc/redrtc/bench/internal/target"
	"golang.org/x/sys/unix"
)

// Results is everything one invocation measured.
type Results struct {
	Timestamp  string           `json:"timestamp"`
	Command    string           `json:"command"`
	Machine    Machine          `json:"machine"`
	Limits     limits.Limits    `json:"limits"`
	Settings   Settings         `json:"config"`
	Servers    []*target.Server `json:"servers"`
	Idle       []IdleResult     `json:"idle,omitempty"`
	Relay      []RelayResult    `json:"relay,omitempty"`
	Churn      []ChurnResult    `json:"churn,omitempty"`
	Notes      []string         `json:"notes,omitempty"`
	Incomplete bool             `json:"incomplete,omitempty"`
	Seconds    float64          `json:"seconds"`
	Chart      string           `json:"chart,omitempty"`
	// Profiles are the files -profile wrote, relative to the results.
	Profiles []string `json:"profiles,omitempty"`
	// Cluster is a cluster run's figures (-cluster), in place of Idle,
	// Relay and Churn.
	Cluster *Cluster `json:"cluster,omitempty"`
}

// Machine describes where the figures were taken.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"goVersion"`
	MemoryMB  int64  `json:"memoryMB"`
	Hostname  string `json:"hostname,omitempty"`
}

// MachineInfo describes this machine.
func MachineInfo() Machine {
	m := Machine{Cores: procfs.CPUs(), GoVersion: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		m.MemoryMB = int64(si.Totalram) * int64(si.Unit) >> 20
	}
	m.Hostname, _ = os.Hostname()
	return m
}

// Failed reports whether any server failed its smoke test or any
// measurement failed its checks.
func (r *Results) Failed() bool {
	for _, k := range r.Servers {
		if k.Smoke != "pass" && k.Smoke != "skipped" {
			return true
		}
	}
	for _, x := range r.Idle {
		if x.Err != "" {
			return true
		}
	}
	for _, x := range r.Relay {
		if x.Err != "" || !x.ExactlyOnce {
			return true
		}
	}
	for _, x := range r.Churn {
		if x.Err != "" {
			return true
		}
	}
	return r.Cluster.failed()
}

// WriteOutputs prints the table and writes the JSON and the chart.
func WriteOutputs(res *Results, dir string, stdout, stderr io.Writer, began time.Time) {
	res.Seconds = time.Since(began).Seconds()
	stamp := Stamp(began)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
	}
	chartPath := filepath.Join(dir, stamp+".png")
	if len(res.Idle)+len(res.Relay) > 0 {
		if err := WriteChart(res, chartPath); err != nil {
			fmt.Fprintf(stderr, "bench: chart: %v\n", err)
		} else {
			res.Chart = filepath.Base(chartPath)
		}
	}
	jsonPath := filepath.Join(dir, stamp+".json")
	b, err := json.MarshalIndent(res, "", "  ")
	if err == nil {
		err = os.WriteFile(jsonPath, append(b, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
	}
	WriteMarkdown(stdout, res)
	fmt.Fprintf(stdout, "\nJSON: %s\n", jsonPath)
	if res.Chart != "" {
		fmt.Fprintf(stdout, "Chart: %s\n", chartPath)
	}
	if len(res.Profiles) > 0 {
		fmt.Fprintf(stdout, "Profiles: %s (%d files; go tool pprof -top FILE)\n", filepath.Join(dir, filepath.Dir(res.Profiles[0])), len(res.Profiles))
	}
}

// Stamp names a run's files: its JSON, chart and profiles.
func Stamp(began time.Time) string { return began.UTC().Format("20060102-150405") }

// ---- Markdown ----

// cell is one figure of one server.
type cell struct {
	v    float64
	ok   bool
	text string // instead of a number
	// verdict, when set, is text without its run's own counts: several runs
	// with one verdict are shown as that verdict once.
	verdict string
	// lo and hi are the lowest and highest of several runs, of which v is
	// the median; spread says they are set.
	lo, hi float64
	spread bool
}

type row struct {
	scenario string
	clients  string
	figure   string
	cells    map[string]cell
	decimals int
	noRatio  bool // a figure about the machine, not the server
}

func num(v float64) cell { return cell{v: v, ok: true} }

// heapCell shows a heap size in MiB, or nothing for a server that does not
// report it.
func heapCell(kb *int64) cell {
	if kb == nil {
		return cell{}
	}
	return num(float64(*kb) / 1024)
}

func (c cell) format(decimals int) string {
	if c.text != "" {
		return c.text
	}
	if !c.ok {
		return "—"
	}
	if c.spread {
		return fmtNum(c.v, decimals) + " (" + fmtNum(c.lo, decimals) + "–" + fmtNum(c.hi, decimals) + ")"
	}
	return fmtNum(c.v, decimals)
}

// combine is one server's cell for several runs of a measurement: the median
// with the range when every run has a number, and otherwise each run's value
// in turn.
func combine(cells []cell, decimals int) cell {
	if len(cells) == 1 {
		return cells[0]
	}
	if v := cells[0].verdict; v != "" && !slices.ContainsFunc(cells, func(c cell) bool { return c.verdict != v }) {
		return cell{text: fmt.Sprintf("%s, in each of %d runs", v, len(cells))}
	}
	vs := make([]float64, 0, len(cells))
	for _, c := range cells {
		if c.text != "" || !c.ok {
			texts := make([]string, len(cells))
			for i, c := range cells {
				texts[i] = c.format(decimals)
			}
			return cell{text: strings.Join(texts, " / ")}
		}
		vs = append(vs, c.v)
	}
	sort.Float64s(vs)
	return cell{v: median(vs), ok: true, lo: vs[0], hi: vs[len(vs)-1], spread: true}
}

// runsCell is one server's cell for its runs of a measurement: "error" for a
// run that measured nothing, f of the others, combined.
func runsCell[T any](runs []T, decimals int, measuredNothing func(T) bool, f func(T) cell) cell {
	cells := make([]cell, len(runs))
	for i, x := range runs {
		if measuredNothing(x) {
			cells[i] = cell{text: "error"}
		} else {
			cells[i] = f(x)
		}
	}
	return combine(cells, decimals)
}

// median of sorted, non-empty vs.
func median(vs []float64) float64 {
	m := len(vs) / 2
	if len(vs)%2 == 0 {
		return (vs[m-1] + vs[m]) / 2
	}
	return vs[m]
}

// fmtNum writes v with thousands separators and the given decimals.
func fmtNum(v float64, decimals int) string {
	s := fmt.Sprintf("%.*f", decimals, v)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// WriteMarkdown writes the results table, the servers and the problems.
func WriteMarkdown(w io.Writer, res *Results) {
	if res.Cluster != nil {
		writeClusterMarkdown(w, res)
		return
	}
	var names []string
	for _, k := range res.Servers {
		names = append(names, k.Name)
	}
	m := res.Machine
	fmt.Fprintf(w, "## RedRTC benchmark — %s\n\n", res.Timestamp)
	fmt.Fprintf(w, "Machine: %s, %d cores, %d MiB, %s, %s. Open files: %d per process (hard). Ceiling: %s clients (%s).\n\n",
		m.CPU, m.Cores, m.MemoryMB, m.Kernel, m.GoVersion, res.Limits.NoFileHard, numfmt.Commas(res.Limits.Ceiling), res.Limits.CeilingBy)
	c := res.Settings
	fmt.Fprintf(w, "Rooms of %d; connect rate with %d handshakes in flight. Relay: %v measured after %v warm-up, fixed rate %s msgs/s, then as fast as possible with %s messages in flight; "+
		"mix per sender: offer (%d B SDP), answer, 4 ICE candidates (~%d B), round robin over room-mates. Churn: %d concurrent pairs for %v. %s\n\n",
		c.RoomSize, c.ConnectPending, c.Duration, c.Warmup, fmtNum(c.Rate, 0), numfmt.Commas(c.Window), c.SDPBytes, c.CandidateBytes, c.ChurnPairs, c.ChurnDuration, freshness(res))
	if c.Repeat > 1 {
		fmt.Fprintf(w, "Relay and churn ran %d times for each server, the servers taking turns: their figures are the median of the runs, with the lowest and highest in brackets, and ratios are of medians.\n\n", c.Repeat)
	}
	for _, k := range res.Servers {
		v := k.Version
		if v == "" {
			v = k.Binary
		}
		if k.External {
			v = k.URL
		}
		args := ""
		if len(k.Extra) > 0 {
			args = ", started with " + strings.Join(k.Extra, " ")
		}
		fmt.Fprintf(w, "- %s: %s%s; protocol smoke test: %s\n", k.Name, v, args, k.Smoke)
	}
	fmt.Fprintln(w)

	rows := buildRows(res)
	// Each other server gets a column of its figures over RedRTC's.
	var others []string
	if slices.Contains(names, "RedRTC") {
		for _, n := range names {
			if n != "RedRTC" {
				others = append(others, n)
			}
		}
	}
	header := "| Scenario | Clients | Figure |"
	sep := "|---|---:|---|"
	for _, n := range names {
		header += " " + n + " |"
		sep += "---:|"
	}
	for _, n := range others {
		header += " " + n + "/RedRTC |"
		sep += "---:|"
	}
	fmt.Fprintln(w, header)
	fmt.Fprintln(w, sep)
	for _, r := range rows {
		line := fmt.Sprintf("| %s | %s | %s |", r.scenario, r.clients, r.figure)
		for _, n := range names {
			line += " " + r.cells[n].format(r.decimals) + " |"
		}
		for _, n := range others {
			a, b := r.cells["RedRTC"], r.cells[n]
			q := "—"
			if !r.noRatio && a.ok && b.ok && a.text == "" && b.text == "" && a.v != 0 {
				q = fmt.Sprintf("%.2f×", b.v/a.v)
			}
			line += " " + q + " |"
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w)
	for _, n := range others {
		fmt.Fprintf(w, "%s/RedRTC above 1 means the %s needs more (memory, CPU, latency) or does more (rates).\n", n, n)
	}
	fmt.Fprintln(w, "RSS per client = (VmRSS − VmRSS of the same server empty) / clients connected. CPU = utime+stime from /proc/PID/stat over the measured window. "+
		"Latency = receive time − send time embedded in each message, measured window only (HdrHistogram). "+
		"Exactly once: every message sent was received once, by its target, from its sender, and nothing else arrived.")
	for _, n := range res.Notes {
		fmt.Fprintf(w, "\nNote: %s\n", n)
	}
	writeProblems(w, res)
}

func freshness(res *Results) string {
	for _, k := range res.Servers {
		if k.External {
			return "The external server is not restarted between measurements, so its \"empty\" memory is whatever it held before each."
		}
	}
	return "Every server runs fresh for every measurement; all get the same clients."
}

func buildRows(res *Results) []row {
	var rows []row
	add := func(r row) { rows = append(rows, r) }

	// idle
	levels := levelsOf(res)
	for _, n := range levels {
		sub := map[string]IdleResult{}
		for _, x := range res.Idle {
			if x.Clients == n {
				sub[x.Server] = x
			}
		}
		if len(sub) == 0 {
			continue
		}
		mk := func(figure string, dec int, f func(x IdleResult) cell) {
			cells := map[string]cell{}
			for name, x := range sub {
				if x.Err != "" && x.Connected == 0 {
					cells[name] = cell{text: "error"}
					continue
				}
				cells[name] = f(x)
			}
			add(row{scenario: "idle", clients: numfmt.Commas(n), figure: figure, cells: cells, decimals: dec})
		}
		mk("connected + joined", 0, func(x IdleResult) cell {
			return cell{text: numfmt.Commas(x.Connected) + " + " + numfmt.Commas(x.Joined)}
		})
		mk("connect rate (clients/s)", 0, func(x IdleResult) cell { return num(x.ConnectRate) })
		mk("server RSS empty (MiB)", 1, func(x IdleResult) cell { return num(float64(x.RSSEmptyKB) / 1024) })
		mk("server RSS joined (MiB)", 1, func(x IdleResult) cell { return num(float64(x.RSSJoinedKB) / 1024) })
		mk("RSS per client, joined (KiB)", 2, func(x IdleResult) cell { return num(x.PerConnJoined) })
		mk("RSS per client, after leave-room (KiB)", 2, func(x IdleResult) cell { return num(x.PerConnLeft) })
		mk("RSS per client, after disconnect (KiB)", 2, func(x IdleResult) cell { return num(x.PerConnClosed) })
		mk("server Go heap empty (MiB)", 2, func(x IdleResult) cell { return heapCell(x.HeapEmptyKB) })
		mk("server Go heap joined (MiB)", 2, func(x IdleResult) cell { return heapCell(x.HeapJoinedKB) })
		mk("server Go heap after disconnect (MiB)", 2, func(x IdleResult) cell { return heapCell(x.HeapClosedKB) })
	}
	// relay
	for _, mode := range []string{"rate", "max", "resume"} {
		for _, n := range levels {
			sub := map[string][]RelayResult{} // a server's runs
			scen := "relay, max"
			for _, x := range res.Relay {
				if x.Clients == n && x.Mode == mode {
					sub[x.Server] = append(sub[x.Server], x)
					switch mode {
					case "rate":
						scen = "relay @ " + fmtNum(x.TargetRate, 0) + "/s"
					case "resume":
						scen = "relay @ " + fmtNum(x.TargetRate, 0) + "/s, 10% dropping and resuming"
					}
				}
			}
			if len(sub) == 0 {
				continue
			}
			mk := func(figure string, dec int, f func(x RelayResult) cell) {
				cells := map[string]cell{}
				for name, xs := range sub {
					cells[name] = runsCell(xs, dec, func(x RelayResult) bool { return x.Err != "" && x.Sent == 0 }, f)
				}
				add(row{scenario: scen, clients: numfmt.Commas(n), figure: figure, cells: cells, decimals: dec, noRatio: strings.HasPrefix(figure, "other")})
			}
			if mode != "max" {
				mk("offered msgs/s", 0, func(x RelayResult) cell { return num(x.OfferedRate) })
			}
			if mode == "resume" {
				mk("sessions resumed", 0, func(x RelayResult) cell { return num(float64(x.Resumes)) })
				mk("resumes refused or failed", 0, func(x RelayResult) cell { return num(float64(x.ResumeFailed)) })
				mk("events lost from full buffers", 0, func(x RelayResult) cell { return num(float64(x.ResumeDropped)) })
				mk("resume latency p50 (ms)", 3, func(x RelayResult) cell { return num(x.ResumeP50us / 1000) })
				mk("resume latency p99 (ms)", 3, func(x RelayResult) cell { return num(x.ResumeP99us / 1000) })
			}
			mk("delivered msgs/s", 0, func(x RelayResult) cell { return num(x.DeliveredRate) })
			mk("latency p50 (ms)", 3, func(x RelayResult) cell { return num(x.P50us / 1000) })
			mk("latency p99 (ms)", 3, func(x RelayResult) cell { return num(x.P99us / 1000) })
			mk("latency p99.9 (ms)", 3, func(x RelayResult) cell { return num(x.P999us / 1000) })
			mk("server CPU per message (µs)", 2, func(x RelayResult) cell { return num(x.CPUPerMsgUs) })
			mk("server CPU (% of one core)", 0, func(x RelayResult) cell { return num(x.ServerCPUPct) })
			mk("load generator CPU (% of one core)", 0, func(x RelayResult) cell { return num(x.LoadgenCPUPct) })
			mk("other processes' CPU (% of one core)", 0, func(x RelayResult) cell { return num(x.OtherCPUPct) })
			mk("delivered exactly once", 0, func(x RelayResult) cell {
				if x.ExactlyOnce {
					return cell{text: "yes, " + numfmt.Commas(int(x.Received)) + "/" + numfmt.Commas(int(x.Sent)), verdict: "yes"}
				}
				return cell{text: fmt.Sprintf("NO: %s/%s received, %d dup, %d phantom, %d misattributed, %d stale, %d malformed",
					numfmt.Commas(int(x.Received)), numfmt.Commas(int(x.Sent)), x.Duplicates, x.Phantom, x.Misattributed, x.Stale, x.Malformed)}
			})
		}
	}
	// churn
	if len(res.Churn) > 0 {
		sub := map[string][]ChurnResult{} // a server's runs
		pairs := 0
		for _, x := range res.Churn {
			sub[x.Server] = append(sub[x.Server], x)
			pairs = x.Pairs
		}
		mk := func(figure string, dec int, f func(x ChurnResult) cell) {
			cells := map[string]cell{}
			for name, xs := range sub {
				cells[name] = runsCell(xs, dec, func(x ChurnResult) bool { return x.Err != "" && x.Sessions == 0 }, f)
			}
			add(row{scenario: "churn", clients: numfmt.Commas(2*pairs) + " at once", figure: figure, cells: cells, decimals: dec, noRatio: strings.HasPrefix(figure, "other")})
		}
		mk("sessions/s", 0, func(x ChurnResult) cell { return num(x.SessionsPerSec) })
		mk("server CPU per session (µs)", 1, func(x ChurnResult) cell { return num(x.CPUPerSession) })
		mk("pair session p50 (ms)", 2, func(x ChurnResult) cell { return num(x.P50ms) })
		mk("pair session p99 (ms)", 2, func(x ChurnResult) cell { return num(x.P99ms) })
		mk("server CPU (% of one core)", 0, func(x ChurnResult) cell { return num(x.ServerCPUPct) })
		mk("load generator CPU (% of one core)", 0, func(x ChurnResult) cell { return num(x.LoadgenCPUPct) })
		mk("other processes' CPU (% of one core)", 0, func(x ChurnResult) cell { return num(x.OtherCPUPct) })
		mk("failed sessions", 0, func(x ChurnResult) cell { return num(float64(x.Failures)) })
	}
	return rows
}

func levelsOf(res *Results) []int {
	var out []int
	for _, x := range res.Idle {
		if !slices.Contains(out, x.Clients) {
			out = append(out, x.Clients)
		}
	}
	for _, x := range res.Relay {
		if !slices.Contains(out, x.Clients) {
			out = append(out, x.Clients)
		}
	}
	sort.Ints(out)
	return out
}

// disturbedPct is how much CPU (% of one core) other processes may take
// during a measurement before its figures are flagged as disturbed.
const disturbedPct = 15

// writeProblems lists every error and anomaly, so that none hides in a table.
func writeProblems(w io.Writer, res *Results) {
	var lines []string
	addMap := func(prefix string, m map[string]int) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			lines = append(lines, fmt.Sprintf("%s: %s × %d", prefix, k, m[k]))
		}
	}
	for _, x := range res.Idle {
		p := fmt.Sprintf("idle %s %s", x.Server, numfmt.Commas(x.Clients))
		if x.Err != "" {
			lines = append(lines, p+": ERROR "+x.Err)
		}
		addMap(p, x.Failures)
		addMap(p+" error event", x.ServerErrors)
	}
	for _, x := range res.Relay {
		p := fmt.Sprintf("relay %s %s %s%s", x.Mode, x.Server, numfmt.Commas(x.Clients), RoundSuffix(x.Round, res.Settings.Repeat))
		if x.Err != "" {
			lines = append(lines, p+": ERROR "+x.Err)
		}
		if x.Mode == "rate" && x.Sent > 0 && x.OfferedRate < 0.97*x.TargetRate {
			lines = append(lines, fmt.Sprintf("%s: offered %.0f msgs/s, short of the %.0f asked: the server could not keep up within a window of %d messages",
				p, x.OfferedRate, x.TargetRate, x.Window))
		}
		if x.OtherCPUPct > disturbedPct {
			lines = append(lines, fmt.Sprintf("%s: other processes used %.0f%% of a core during the measurement: these figures are disturbed", p, x.OtherCPUPct))
		}
		addMap(p, x.Failures)
		addMap(p+" error event", x.ServerErrors)
	}
	for _, x := range res.Churn {
		p := fmt.Sprintf("churn %s%s", x.Server, RoundSuffix(x.Round, res.Settings.Repeat))
		if x.Err != "" {
			lines = append(lines, p+": ERROR "+x.Err)
		}
		if x.OtherCPUPct > disturbedPct {
			lines = append(lines, fmt.Sprintf("%s: other processes used %.0f%% of a core during the measurement: these figures are disturbed", p, x.OtherCPUPct))
		}
		addMap(p, x.Reasons)
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

// RoundSuffix names the run in progress when there is more than one.
func RoundSuffix(round, rounds int) string {
	if rounds <= 1 {
		return ""
	}
	return fmt.Sprintf(" (run %d of %d)", round+1, rounds)
}
