package admin

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Counts is what the server counts, summed over its event loops when
// scraped; docs/operations.md ("Metrics") says what each means. Maps are
// keyed by the value of the metric's one label.
type Counts struct {
	Clients, ClientLimit, Rooms, RoomLimit int
	QueuedBytes                            int64
	Accepted                               uint64
	Refused                                map[string]uint64 // by reason
	Received                               map[string]uint64 // by event
	Relayed                                map[string]uint64 // by event
	RelayedBytes                           map[string]uint64 // by event
	Errors                                 map[string]uint64 // by code
	Closes                                 map[string]uint64 // by close code
	RateLimited, RateKicks, SlowConsumers  uint64
	JoinTimeouts, IdleTimeouts             uint64
	Resumes, Replayed, RetainDropped       uint64
	ResumeFailures                         map[string]uint64 // by reason
	RoomSize, RelayTime, OfferAnswer       Histogram
	// Cluster is nil on a lone server (cluster.go).
	Cluster *ClusterCounts
}

// Histogram is a histogram with cumulative bucket counts.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// metric is one series family the collector emits.
type metric struct {
	desc *prometheus.Desc
	kind prometheus.ValueType
}

func family(name, help string, kind prometheus.ValueType, labels ...string) metric {
	return metric{prometheus.NewDesc(name, help, labels, nil), kind}
}

// The RedRTC series. No label carries a room or client id: each label has
// a handful of values fixed by the code.
var (
	mClients      = family("redrtc_clients", "Clients connected (upgraded, holding a client id).", prometheus.GaugeValue)
	mClientLimit  = family("redrtc_clients_limit", "The most clients the server admits (--clients).", prometheus.GaugeValue)
	mRooms        = family("redrtc_rooms", "Rooms open.", prometheus.GaugeValue)
	mRoomLimit    = family("redrtc_rooms_limit", "The most rooms the server holds (--rooms).", prometheus.GaugeValue)
	mQueued       = family("redrtc_outbound_queued_bytes", "Bytes written for clients but not yet taken by the kernel.", prometheus.GaugeValue)
	mDraining     = family("redrtc_draining", "1 while the server drains (POST /v1/drain), else 0.", prometheus.GaugeValue)
	mAccepted     = family("redrtc_connections_accepted_total", "TCP connections accepted on the client port.", prometheus.CounterValue)
	mRefused      = family("redrtc_upgrades_refused_total", "Connections turned away before becoming clients, by reason.", prometheus.CounterValue, "reason")
	mReceived     = family("redrtc_messages_received_total", "Text messages received from clients, by event (invalid: named none).", prometheus.CounterValue, "event")
	mRelayed      = family("redrtc_messages_relayed_total", "Messages relayed to a room-mate, by event.", prometheus.CounterValue, "event")
	mRelayedBytes = family("redrtc_relayed_bytes_total", "Bytes of relayed messages, WebSocket framing included, by event.", prometheus.CounterValue, "event")
	mErrors       = family("redrtc_error_events_total", "Error events sent to clients, by code.", prometheus.CounterValue, "code")
	mCloses       = family("redrtc_connections_closed_total", "Connections the server closed, by close code (none: before the upgrade).", prometheus.CounterValue, "code")
	mRateLimited  = family("redrtc_rate_limited_messages_total", "Messages dropped for being over --rate.", prometheus.CounterValue)
	mRateKicks    = family("redrtc_rate_kicks_total", "Clients closed for staying over --rate for --rate-kick.", prometheus.CounterValue)
	mSlow         = family("redrtc_slow_consumer_closes_total", "Clients closed for falling --max-outbound behind.", prometheus.CounterValue)
	mJoinTimeouts = family("redrtc_join_timeouts_total", "Clients closed for joining no room within --join-timeout.", prometheus.CounterValue)
	mIdle         = family("redrtc_idle_timeouts_total", "Clients closed for sending nothing for --timeout.", prometheus.CounterValue)
	mResumes      = family("redrtc_resumes_total", "Sessions resumed on a new connection.", prometheus.CounterValue)
	mResumeFailed = family("redrtc_resume_failures_total", "Resumes refused, by reason.", prometheus.CounterValue, "reason")
	mReplayed     = family("redrtc_resume_replayed_messages_total", "Retained events delivered again by a resume.", prometheus.CounterValue)
	mRetainDrop   = family("redrtc_resume_dropped_messages_total", "Retained events dropped from a full per-session buffer (64 events or 64 KiB).", prometheus.CounterValue)
	mRoomSize     = family("redrtc_room_size_at_join", "Members of a room right after each join.", prometheus.UntypedValue)
	mRelayTime    = family("redrtc_relay_latency_seconds", "Time from decoding a message to handing its relay to the kernel (1 relay in 64 sampled).", prometheus.UntypedValue)
	mOfferAnswer  = family("redrtc_offer_answer_seconds", "Time from relaying an offer to relaying the answer of the same pair.", prometheus.UntypedValue)
	mBuildInfo    = family("redrtc_build_info", "Always 1; the labels name the build.", prometheus.GaugeValue, "version", "commit", "goversion")
)

var allMetrics = []metric{
	mClients, mClientLimit, mRooms, mRoomLimit, mQueued, mDraining, mAccepted, mRefused, mReceived,
	mRelayed, mRelayedBytes, mErrors, mCloses, mRateLimited, mRateKicks, mSlow, mJoinTimeouts,
	mIdle, mResumes, mResumeFailed, mReplayed, mRetainDrop, mRoomSize, mRelayTime, mOfferAnswer, mBuildInfo,
}

// collector reads the server's counts at each scrape: the event loops keep
// their own counters, and nothing is summed between scrapes.
type collector struct{ l *Listener }

func newCollector(l *Listener) prometheus.Collector { return collector{l} }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range allMetrics {
		ch <- m.desc
	}
	for _, m := range clusterMetrics {
		ch <- m.desc
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	cfg := c.l.cfg
	ch <- prometheus.MustNewConstMetric(mBuildInfo.desc, mBuildInfo.kind, 1, cfg.Version, cfg.Commit, cfg.GoVersion)
	ctl := c.l.control()
	if ctl == nil {
		return // not listening yet: nothing counted
	}
	n := ctl.Counts()
	one := func(m metric, v float64) { ch <- prometheus.MustNewConstMetric(m.desc, m.kind, v) }
	byLabel := func(m metric, vs map[string]uint64) {
		for label, v := range vs {
			ch <- prometheus.MustNewConstMetric(m.desc, m.kind, float64(v), label)
		}
	}
	hist := func(m metric, h Histogram) {
		buckets := make(map[float64]uint64, len(h.Bounds))
		for i, b := range h.Bounds {
			buckets[b] = h.Counts[i]
		}
		ch <- prometheus.MustNewConstHistogram(m.desc, h.Count, h.Sum, buckets)
	}
	draining := 0.0
	if ctl.Draining() {
		draining = 1
	}
	one(mClients, float64(n.Clients))
	one(mClientLimit, float64(n.ClientLimit))
	one(mRooms, float64(n.Rooms))
	one(mRoomLimit, float64(n.RoomLimit))
	one(mQueued, float64(n.QueuedBytes))
	one(mDraining, draining)
	one(mAccepted, float64(n.Accepted))
	byLabel(mRefused, n.Refused)
	byLabel(mReceived, n.Received)
	byLabel(mRelayed, n.Relayed)
	byLabel(mRelayedBytes, n.RelayedBytes)
	byLabel(mErrors, n.Errors)
	byLabel(mCloses, n.Closes)
	one(mRateLimited, float64(n.RateLimited))
	one(mRateKicks, float64(n.RateKicks))
	one(mSlow, float64(n.SlowConsumers))
	one(mJoinTimeouts, float64(n.JoinTimeouts))
	one(mIdle, float64(n.IdleTimeouts))
	one(mResumes, float64(n.Resumes))
	byLabel(mResumeFailed, n.ResumeFailures)
	one(mReplayed, float64(n.Replayed))
	one(mRetainDrop, float64(n.RetainDropped))
	hist(mRoomSize, n.RoomSize)
	hist(mRelayTime, n.RelayTime)
	hist(mOfferAnswer, n.OfferAnswer)
	if n.Cluster != nil {
		collectCluster(ch, n.Cluster)
	}
}
