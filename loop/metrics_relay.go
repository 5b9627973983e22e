package loop

import (
	"sync"
	"time"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// Timing a relay costs two reads of the clock and a lock of the target's
// loop, so one relay in relaySampleEvery on each loop is timed, from its
// decoding to the end of the write that hands it to the kernel: on the
// target's loop, which is where it is written. The sample's time is left on
// the target's loop before the relay is queued there, and that loop
// observes it after its next write. When the target's loop writes between
// the two (it is another loop, running at the same moment), the sample
// ends at that write and reads a little short; at one relay in 64, and a
// window of a few instructions, that does not move the quantiles.
const relaySampleEvery = 64

// relayed counts a relay of an event, frame bytes long, delivered to target,
// on the sender's loop.
func (c *conn) relayed(e proto.Event, frame int, target proto.ClientID) {
	ls := c.ls
	count(&ls.m.relayed[e])
	countN(&ls.m.relayedBytes[e], uint64(frame))
	if e != proto.EventICECandidate {
		c.negotiation(e, target)
	}
}

// sampleRelay starts timing one relay in relaySampleEvery on c's loop,
// before it is delivered to target. It returns the target's loop and the
// sample's start when it took one, for unsampleRelay.
func (c *conn) sampleRelay(target *registry.Client) (*loopState, int64) {
	ls := c.ls
	ls.relays++
	if ls.relays%relaySampleEvery != 0 {
		return nil, 0
	}
	tc, ok := target.Sender.(*conn)
	if !ok {
		return nil, 0
	}
	t := ls.srv.monotonic()
	tls := tc.ls
	tls.mu.Lock()
	defer tls.mu.Unlock()
	if tls.sampleAt != 0 {
		return nil, 0
	}
	tls.sampleAt = t
	return tls, t
}

// unsampleRelay takes back a sample whose relay was not delivered: left in
// place, it would time the target loop's next write, however much later.
func unsampleRelay(tls *loopState, t int64) {
	if tls == nil {
		return
	}
	tls.mu.Lock()
	if tls.sampleAt == t {
		tls.sampleAt = 0
	}
	tls.mu.Unlock()
}

// observeRelayTime ends the sample taken out of the outbox with a batch,
// once the batch is written; sample is 0 when there was none.
func (ls *loopState) observeRelayTime(sample int64) {
	if sample == 0 {
		return
	}
	d := ls.srv.monotonic() - sample
	ls.m.relayTime.observe(relayLatencyBounds, float64(d)/float64(time.Second), uint64(d))
}

// offerTable remembers when each offer was relayed, by (offerer, answerer),
// until the matching answer comes back and the time between them is
// observed. Offers and answers are a few messages a call (candidates, the
// bulk of the traffic, never come here), so a lock sharded 64 ways costs
// nothing measurable. Entries of offers never answered are dropped once a
// shard is full and they are over offerTimeout old.
type offerTable struct {
	shards [64]offerShard
}

type offerShard struct {
	mu sync.Mutex
	m  map[[2]proto.ClientID]int64
}

const (
	// offerShardMax bounds each shard: 64 × 1024 negotiations in flight.
	offerShardMax = 1024
	// offerTimeout is how long an unanswered offer is remembered when its
	// shard fills up.
	offerTimeout = int64(time.Minute)
)

func (t *offerTable) shard(offerer proto.ClientID) *offerShard {
	return &t.shards[offerer[0]&63]
}

// offered records an offer from offerer to answerer at time now.
func (t *offerTable) offered(offerer, answerer proto.ClientID, now int64) {
	s := t.shard(offerer)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[[2]proto.ClientID]int64)
	}
	key := [2]proto.ClientID{offerer, answerer}
	if _, ok := s.m[key]; !ok && len(s.m) >= offerShardMax {
		for k, at := range s.m {
			if now-at > offerTimeout {
				delete(s.m, k)
			}
		}
		if len(s.m) >= offerShardMax {
			return
		}
	}
	s.m[key] = now
}

// answered returns when the offer that answerer now answers was relayed,
// and forgets it; ok is false when there was none.
func (t *offerTable) answered(offerer, answerer proto.ClientID) (at int64, ok bool) {
	s := t.shard(offerer)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := [2]proto.ClientID{offerer, answerer}
	at, ok = s.m[key]
	if ok {
		delete(s.m, key)
	}
	return at, ok
}

// negotiation feeds the offer-to-answer histogram: an offer relayed from c
// to target starts the clock, the answer relayed back stops it, on the
// answerer's loop.
func (c *conn) negotiation(e proto.Event, target proto.ClientID) {
	s := c.ls.srv
	switch e {
	case proto.EventOffer:
		s.offers.offered(c.client.ID, target, s.monotonic())
	case proto.EventAnswer:
		if at, ok := s.offers.answered(target, c.client.ID); ok {
			d := s.monotonic() - at
			c.ls.m.offerAnswer.observe(offerAnswerBounds, float64(d)/float64(time.Second), uint64(d))
		}
	}
}
