package results

// The figures of a cluster run (make bench-cluster): N RedRTC nodes
// sharing one nats-server, idle memory node by node and relay CPU for
// same-node and cross-node pairs, NATS's share shown on its own.

// Cluster is what a cluster run measured.
type Cluster struct {
	Nodes       int            `json:"nodes"`
	NATSBinary  string         `json:"natsBinary"`
	NATSVersion string         `json:"natsVersion,omitempty"`
	Idle        []ClusterIdle  `json:"idle,omitempty"`
	Relay       []ClusterRelay `json:"relay,omitempty"`
}

// ProcMemory is one process's memory at the idle scenario's stages, and
// the clients and rooms it reported when they had joined.
type ProcMemory struct {
	Name        string `json:"name"`
	Clients     int    `json:"clients"` // its /healthz once joined (a node)
	Rooms       int    `json:"rooms"`
	RSSEmptyKB  int64  `json:"rssEmptyKB"`
	RSSJoinedKB int64  `json:"rssJoinedKB"`
	RSSLeftKB   int64  `json:"rssLeftKB"`
	RSSClosedKB int64  `json:"rssClosedKB"`
	// OpenFiles is its open descriptors once joined, under the
	// per-process limit.
	OpenFiles int `json:"openFiles"`
	// PerClientJoinedKB is (joined − empty) / its clients; for NATS, over
	// every client of the cluster.
	PerClientJoinedKB float64 `json:"perClientJoinedKB"`
}

// ClusterIdle is one idle run of the cluster.
type ClusterIdle struct {
	Clients        int          `json:"clients"`
	Connected      int          `json:"connected"`
	Joined         int          `json:"joined"`
	ConnectSeconds float64      `json:"connectSeconds"`
	ConnectRate    float64      `json:"connectRate"`
	JoinSeconds    float64      `json:"joinSeconds"`
	Nodes          []ProcMemory `json:"nodes"`
	NATS           ProcMemory   `json:"nats"`
	// WorkerOpenFiles is the most descriptors one load-generator process
	// held once joined.
	WorkerOpenFiles int `json:"workerOpenFiles"`
	// PerClientJoinedKB is every node's growth over every client, and
	// WithNATSKB the same with NATS's growth added.
	PerClientJoinedKB float64        `json:"perClientJoinedKB"`
	WithNATSKB        float64        `json:"perClientWithNatsKB"`
	Failures          map[string]int `json:"failures,omitempty"`
	ServerErrors      map[string]int `json:"serverErrors,omitempty"`
	Err               string         `json:"error,omitempty"`
}

// ClusterRelay is one relay measurement of the cluster over one set of
// pairs. Its RelayResult's server CPU is every node's and NATS's together.
type ClusterRelay struct {
	RelayResult
	Pairs      string    `json:"pairs"` // "same-node" or "cross-node"
	NodeCPUSec []float64 `json:"nodeCpuSeconds"`
	NATSCPUSec float64   `json:"natsCpuSeconds"`
	// Per delivered message: the nodes alone, and NATS alone.
	NodesCPUPerMsgUs float64 `json:"nodesCpuPerMsgUs"`
	NATSCPUPerMsgUs  float64 `json:"natsCpuPerMsgUs"`
	NATSRSSKB        int64   `json:"natsRssKB"`
}

// failed reports whether any cluster measurement failed its checks.
func (c *Cluster) failed() bool {
	if c == nil {
		return false
	}
	for _, x := range c.Idle {
		if x.Err != "" {
			return true
		}
	}
	for _, x := range c.Relay {
		if x.Err != "" || !x.ExactlyOnce {
			return true
		}
	}
	return false
}
