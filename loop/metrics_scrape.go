package loop

import (
	"time"

	"github.com/redrtc/redrtc/proto"
)

// Metrics are the server's counters summed over its event loops, and its
// gauges, at one moment. Maps are keyed by label value: an event name, an
// error code, a close code ("none" before an upgrade, "other"), a refusal
// reason. docs/operations.md says what each means.
type Metrics struct {
	Clients, Rooms int
	// ClientLimit and RoomLimit are --clients and --rooms.
	ClientLimit, RoomLimit int
	// QueuedBytes is what gnet holds for clients, not yet taken by the
	// kernel, as of each loop's last write.
	QueuedBytes   int64
	Accepted      uint64
	Refused       map[string]uint64
	Received      map[string]uint64
	Relayed       map[string]uint64
	RelayedBytes  map[string]uint64
	Errors        map[string]uint64
	Closes        map[string]uint64
	RateLimited   uint64
	RateKicks     uint64
	SlowConsumers uint64
	JoinTimeouts  uint64
	IdleTimeouts  uint64
	// Resumes counts sessions resumed; ResumeFailures resumes refused, by
	// reason; Replayed the retained events a resume delivered again; and
	// RetainDropped retained events dropped from a full buffer.
	Resumes, Replayed, RetainDropped uint64
	ResumeFailures                   map[string]uint64
	// RoomSize is the room's size at each join, members; RelayTime the
	// time from decoding a message to handing its relay to the kernel, and
	// OfferAnswer from relaying an offer to relaying its answer, seconds.
	RoomSize, RelayTime, OfferAnswer Histogram
}

// Histogram is a histogram as Prometheus exposes it: Counts[i] counts the
// observations at most Bounds[i] (cumulative), Count all of them.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// Metrics sums every loop's counters. It takes no lock a loop takes while
// relaying, and may run on any goroutine.
func (s *Server) Metrics() Metrics {
	m := Metrics{
		Clients: s.clients.Len(), Rooms: s.rooms.Len(), ClientLimit: s.cfg.Clients, RoomLimit: s.cfg.Rooms,
		Refused: map[string]uint64{}, Received: map[string]uint64{}, Relayed: map[string]uint64{},
		RelayedBytes: map[string]uint64{}, Errors: map[string]uint64{}, Closes: map[string]uint64{},
		ResumeFailures: map[string]uint64{},
	}
	m.Refused[refusalNames[refusedOutOfDescriptors]] = s.outOfDescriptors.Load()
	var size, relay, offer [maxBuckets]uint64
	var sizeSum, relaySum, offerSum uint64
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	// Every label value is there from the start, at 0 before any loop has
	// served a connection, so that a rate over it has a first sample.
	loops := []*loopMetrics{{}, &s.clusterSide.ls.m}
	for _, ls := range s.loops {
		loops = append(loops, &ls.m)
	}
	for _, lm := range loops {
		m.QueuedBytes += lm.queuedBytes.Load()
		m.Accepted += lm.accepted.Load()
		for i := range lm.refused {
			m.Refused[refusalNames[i]] += lm.refused[i].Load()
		}
		for _, e := range receivedEvents {
			m.Received[eventLabel(e)] += lm.received[e].Load()
		}
		for _, e := range relayedEvents {
			m.Relayed[e.String()] += lm.relayed[e].Load()
			m.RelayedBytes[e.String()] += lm.relayedBytes[e].Load()
		}
		for i, code := range errorCodes {
			m.Errors[string(code)] += lm.errors[i].Load()
		}
		for i := range closeCodes {
			m.Closes[closeLabel(i)] += lm.closes[i].Load()
		}
		m.RateLimited += lm.rateLimited.Load()
		m.RateKicks += lm.rateKicks.Load()
		m.SlowConsumers += lm.slowConsumers.Load()
		m.JoinTimeouts += lm.joinTimeouts.Load()
		m.IdleTimeouts += lm.idleTimeouts.Load()
		m.Resumes += lm.resumes.Load()
		m.Replayed += lm.replayed.Load()
		m.RetainDropped += lm.retainDropped.Load()
		for i := range lm.resumeFailures {
			m.ResumeFailures[resumeFailureNames[i]] += lm.resumeFailures[i].Load()
		}
		for i := range maxBuckets {
			size[i] += lm.roomSize.buckets[i].Load()
			relay[i] += lm.relayTime.buckets[i].Load()
			offer[i] += lm.offerAnswer.buckets[i].Load()
		}
		sizeSum += lm.roomSize.sum.Load()
		relaySum += lm.relayTime.sum.Load()
		offerSum += lm.offerAnswer.sum.Load()
	}
	m.RoomSize = cumulative(roomSizeBounds, size, float64(sizeSum))
	m.RelayTime = cumulative(relayLatencyBounds, relay, float64(relaySum)/float64(time.Second))
	m.OfferAnswer = cumulative(offerAnswerBounds, offer, float64(offerSum)/float64(time.Second))
	return m
}

// The events counted when received and when relayed.
var (
	receivedEvents = []proto.Event{proto.EventUnknown, proto.EventJoinRoom, proto.EventLeaveRoom, proto.EventOffer, proto.EventAnswer, proto.EventICECandidate, proto.EventPing}
	relayedEvents  = []proto.Event{proto.EventOffer, proto.EventAnswer, proto.EventICECandidate}
)

// eventLabel is an event's label value; "invalid" for a message that named
// no event the server knows.
func eventLabel(e proto.Event) string {
	if e == proto.EventUnknown {
		return "invalid"
	}
	return e.String()
}

// cumulative turns per-bucket counts (the last for +Inf) into a Histogram.
func cumulative(bounds []float64, buckets [maxBuckets]uint64, sum float64) Histogram {
	h := Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds)), Sum: sum}
	for i := range bounds {
		h.Count += buckets[i]
		h.Counts[i] = h.Count
	}
	h.Count += buckets[len(bounds)]
	return h
}
