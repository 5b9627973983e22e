// Package ipc is the wire format between the bench's coordinator and its
// worker processes: the coordinator writes one Command per line, as JSON, on
// a worker's standard input and reads one Report per line from its standard
// output. Every step carries its own deadline, so no step can hang.
package ipc

import (
	"maps"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Command is one step for a worker.
type Command struct {
	Op string `json:"op"` // setup, connect, join, relay, leave, close, churn, exit

	// setup
	Host string `json:"host,omitempty"` // host:port, IPv4
	// Hosts, when set, are the nodes of a cluster, in place of Host: the
	// client with global index g connects to
	// Hosts[layout.NodeOf(g, RoomSize, len(Hosts))].
	Hosts          []string `json:"hosts,omitempty"`
	Path           string   `json:"path,omitempty"`
	First          int      `json:"first,omitempty"`   // global index of the worker's first client
	Clients        int      `json:"clients,omitempty"` // long-lived clients of this worker
	RoomSize       int      `json:"roomSize,omitempty"`
	RoomPrefix     string   `json:"roomPrefix,omitempty"`
	Joiners        int      `json:"joiners,omitempty"` // clients with a global index below it join rooms; 0 = all
	SrcIPs         []string `json:"srcIPs,omitempty"`
	Loops          int      `json:"loops,omitempty"`
	MaxPending     int      `json:"maxPending,omitempty"` // connects in flight per loop
	SDPBytes       int      `json:"sdpBytes,omitempty"`
	CandidateBytes int      `json:"candidateBytes,omitempty"`
	Token          string   `json:"token,omitempty"` // sent with every join-room, when set

	// every step
	TimeoutNs int64 `json:"timeoutNs,omitempty"`

	// relay and churn
	Rate   float64 `json:"rate,omitempty"`   // relay: msgs/s for this worker, 0 = as fast as possible
	Window int     `json:"window,omitempty"` // relay: messages in flight at most
	// relay: which room-mates each client sends to (layout.ParsePairSet):
	// "" every one, "same-node" or "cross-node" those of a cluster's nodes
	PairSet      string `json:"pairSet,omitempty"`
	MeasureStart int64  `json:"measureStart,omitempty"`
	MeasureEnd   int64  `json:"measureEnd,omitempty"`
	DrainNs      int64  `json:"drainNs,omitempty"`
	Pairs        int    `json:"pairs,omitempty"` // churn: concurrent pairs for this worker
	// relay, resume mode: the share of clients that drop and resume in
	// each round, and the time between rounds
	ResumeFraction float64 `json:"resumeFraction,omitempty"`
	ResumeEveryNs  int64   `json:"resumeEveryNs,omitempty"`
}

// Report is a worker's (or, merged, every worker's) account of one step.
type Report struct {
	Op      string         `json:"op"`
	Err     string         `json:"err,omitempty"`
	Total   int            `json:"total"`
	Done    int            `json:"done"`
	Failed  int            `json:"failed"`
	Reasons map[string]int `json:"reasons,omitempty"` // failures and anomalies by cause
	Errors  map[string]int `json:"errors,omitempty"`  // error events from the server, by code
	StartNs int64          `json:"startNs,omitempty"`
	LastNs  int64          `json:"lastNs,omitempty"` // when the last client finished the step
	CPUNs   int64          `json:"cpuNs,omitempty"`  // worker CPU time inside the measured window
	Relay   *RelayStats    `json:"relay,omitempty"`
	Churn   *ChurnStats    `json:"churn,omitempty"`
}

// RelayStats counts every relayed message.
type RelayStats struct {
	Senders       int   `json:"senders"`
	Sent          int64 `json:"sent"`
	Received      int64 `json:"received"` // distinct messages received
	Duplicates    int64 `json:"duplicates"`
	Phantom       int64 `json:"phantom"` // a sequence number never sent
	Stale         int64 `json:"stale"`   // sent before this step
	Misattributed int64 `json:"misattributed"`
	Malformed     int64 `json:"malformed"`
	SentWin       int64 `json:"sentWin"`       // sent inside the window
	RecvWinBySend int64 `json:"recvWinBySend"` // received, sent inside the window
	RecvInWin     int64 `json:"recvInWin"`     // received inside the window
	BytesInWin    int64 `json:"bytesInWin"`    // payload bytes received inside the window
	// Hist is the latency of messages sent inside the window, in µs.
	Hist *hdrhistogram.Snapshot `json:"hist,omitempty"`
	// Resume mode: sessions resumed, resumes refused or not redialled,
	// events the server no longer had, and the time from a drop to its
	// resumed, in µs.
	Resumes       int64                  `json:"resumes,omitempty"`
	ResumeFailed  int64                  `json:"resumeFailed,omitempty"`
	ResumeDropped int64                  `json:"resumeDropped,omitempty"`
	ResumeHist    *hdrhistogram.Snapshot `json:"resumeHist,omitempty"`
}

// ChurnStats counts churn sessions.
type ChurnStats struct {
	Pairs       int   `json:"pairs"`
	Sessions    int64 `json:"sessions"`    // client sessions completed
	SessionsWin int64 `json:"sessionsWin"` // completed inside the window
	Failures    int64 `json:"failures"`    // pair sessions that failed
	Unfinished  int64 `json:"unfinished"`  // pair sessions cut at the end
	// Hist is the duration of a pair session, in µs.
	Hist *hdrhistogram.Snapshot `json:"hist,omitempty"`
}

// Latency histograms are in microseconds, 1 µs to 60 s, 3 significant digits.
const histMax = 60_000_000

// NewHist is a latency histogram in nanoseconds, 1 ns to histMax, to three
// significant digits, as every worker and the coordinator use.
func NewHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, histMax, 3) }

func mergeSnap(a, b *hdrhistogram.Snapshot) *hdrhistogram.Snapshot {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	h := hdrhistogram.Import(a)
	h.Merge(hdrhistogram.Import(b))
	return h.Export()
}

func addCounts(dst *map[string]int, src map[string]int) {
	if len(src) == 0 {
		return
	}
	if *dst == nil {
		*dst = make(map[string]int)
	}
	for k, v := range src {
		(*dst)[k] += v
	}
}

// Merge adds o into r.
func (r *Report) Merge(o Report) {
	if r.Op == "" {
		r.Op = o.Op
	}
	if o.Err != "" {
		if r.Err != "" {
			r.Err += "; "
		}
		r.Err += o.Err
	}
	r.Total += o.Total
	r.Done += o.Done
	r.Failed += o.Failed
	addCounts(&r.Reasons, o.Reasons)
	addCounts(&r.Errors, o.Errors)
	if r.StartNs == 0 || (o.StartNs != 0 && o.StartNs < r.StartNs) {
		r.StartNs = o.StartNs
	}
	r.LastNs = max(r.LastNs, o.LastNs)
	r.CPUNs += o.CPUNs
	if o.Relay != nil {
		if r.Relay == nil {
			r.Relay = &RelayStats{}
		}
		a, b := r.Relay, o.Relay
		a.Senders += b.Senders
		a.Sent += b.Sent
		a.Received += b.Received
		a.Duplicates += b.Duplicates
		a.Phantom += b.Phantom
		a.Stale += b.Stale
		a.Misattributed += b.Misattributed
		a.Malformed += b.Malformed
		a.SentWin += b.SentWin
		a.RecvWinBySend += b.RecvWinBySend
		a.RecvInWin += b.RecvInWin
		a.BytesInWin += b.BytesInWin
		a.Hist = mergeSnap(a.Hist, b.Hist)
		a.Resumes += b.Resumes
		a.ResumeFailed += b.ResumeFailed
		a.ResumeDropped += b.ResumeDropped
		a.ResumeHist = mergeSnap(a.ResumeHist, b.ResumeHist)
	}
	if o.Churn != nil {
		if r.Churn == nil {
			r.Churn = &ChurnStats{}
		}
		a, b := r.Churn, o.Churn
		a.Pairs += b.Pairs
		a.Sessions += b.Sessions
		a.SessionsWin += b.SessionsWin
		a.Failures += b.Failures
		a.Unfinished += b.Unfinished
		a.Hist = mergeSnap(a.Hist, b.Hist)
	}
}

// Clone copies the maps so that merging into the copy leaves r alone.
func (r Report) Clone() Report {
	r.Reasons = maps.Clone(r.Reasons)
	r.Errors = maps.Clone(r.Errors)
	return r
}
