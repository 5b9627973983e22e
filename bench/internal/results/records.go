package results

import "time"

// Settings is the benchmark's settings, from the flags.
type Settings struct {
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
	Mode          string         `json:"mode"` // "rate", "max" or "resume"
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
	// Mode "resume": sessions resumed and refused, events the server no
	// longer had, and the time from a drop to resumed.
	Resumes       int64   `json:"resumes,omitempty"`
	ResumeFailed  int64   `json:"resumeFailed,omitempty"`
	ResumeDropped int64   `json:"resumeDropped,omitempty"`
	ResumeP50us   float64 `json:"resumeP50us,omitempty"`
	ResumeP99us   float64 `json:"resumeP99us,omitempty"`
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
