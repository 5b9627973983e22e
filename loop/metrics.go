package loop

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
)

// Counters are written only by the event loop that owns them and summed
// when scraped (Metrics): each loopState has its own loopMetrics, and the
// owning loop adds with count, a load and a store of an atomic.Uint64. With
// one writer no increment is lost, no lock is taken and nothing is
// allocated; the atomic load and store keep the scraping goroutine's reads
// well defined (and the race detector quiet). The line a loop writes is its
// own, so no other core contends for it. The few events counted away from
// any loop (a connection refused for want of descriptors, in the acceptor)
// use a shared atomic add on the Server: they never happen on the relay
// path.

// count adds one to a counter written only by the calling loop.
func count(x *atomic.Uint64) { x.Store(x.Load() + 1) }

// countN adds n to a counter written only by the calling loop.
func countN(x *atomic.Uint64, n uint64) { x.Store(x.Load() + n) }

// Refusal reasons: why a connection was turned away before it became a
// client. Each is one value of the reason label of
// redrtc_upgrades_refused_total.
const (
	refusedBadRequest = iota
	refusedMethod
	refusedNotWebSocket
	refusedOrigin
	refusedHeaderTooLarge
	refusedServerFull
	refusedOutOfDescriptors
	refusedHandshakeTimeout
	refusedUnauthorized
	refusalCount
)

var refusalNames = [refusalCount]string{
	refusedBadRequest:       "bad_request",
	refusedMethod:           "method_not_allowed",
	refusedNotWebSocket:     "not_websocket",
	refusedOrigin:           "origin",
	refusedHeaderTooLarge:   "header_too_large",
	refusedServerFull:       "server_full",
	refusedOutOfDescriptors: "out_of_descriptors",
	refusedHandshakeTimeout: "handshake_timeout",
	refusedUnauthorized:     "unauthorized",
}

// errorCodes are the error event codes counted, in the order of
// loopMetrics.errors; a code not listed counts as the last, "other".
var errorCodes = [...]proto.Code{
	proto.CodeBadJSON, proto.CodeBadRequest, proto.CodeUnknownEvent, proto.CodeNotInRoom,
	proto.CodeTargetNotFound, proto.CodeRoomFull, proto.CodeRoomLimit, proto.CodeServerFull,
	proto.CodeRateLimited, proto.CodeJoinTimeout, proto.CodeRoomClosed, proto.CodeUnauthorized,
	proto.CodeResumeFailed, proto.CodeClusterUnavailable, "other",
}

func errorIndex(code proto.Code) int {
	for i, c := range errorCodes[:len(errorCodes)-1] {
		if c == code {
			return i
		}
	}
	return len(errorCodes) - 1
}

// closeCodes are the close codes counted, in the order of
// loopMetrics.closes; 0 stands for a connection closed before its upgrade
// (labelled "none"), and a code not listed counts as the last, "other".
var closeCodes = [...]ws.StatusCode{
	0, ws.StatusNormalClosure, ws.StatusGoingAway, ws.StatusProtocolError, ws.StatusUnsupportedData,
	ws.StatusInvalidFramePayloadData, ws.StatusPolicyViolation, ws.StatusMessageTooBig,
	ws.StatusInternalServerError, statusTryAgainLater, StatusKicked, statusTakenOver, 1,
}

func closeIndex(code ws.StatusCode) int {
	for i, c := range closeCodes[:len(closeCodes)-1] {
		if c == code {
			return i
		}
	}
	return len(closeCodes) - 1
}

func closeLabel(i int) string {
	switch {
	case i == 0:
		return "none"
	case i == len(closeCodes)-1:
		return "other"
	}
	return strconv.Itoa(int(closeCodes[i]))
}

// Histogram bucket bounds, in seconds.
var (
	// relayLatencyBounds: a relay handed to the kernel within the batch
	// that read it takes tens of microseconds; one that waits behind a
	// busy loop, milliseconds.
	relayLatencyBounds = []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1}
	// offerAnswerBounds: an answer follows its offer once the answering
	// browser has gathered and applied it, from milliseconds to seconds.
	offerAnswerBounds = []float64{5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10, 30, 60}
	// roomSizeBounds: a room holds 1 to 6 members.
	roomSizeBounds = []float64{1, 2, 3, 4, 5, 6}
)

// maxBuckets is the most bounds a histogram above has, plus one for +Inf.
const maxBuckets = 16

// loopHistogram is a histogram written by one loop: counts per bucket (not
// cumulative; the last is +Inf) and the sum of observations in
// nanoseconds (or units, for room sizes).
type loopHistogram struct {
	buckets [maxBuckets]atomic.Uint64
	sum     atomic.Uint64
}

// observe adds v, in the unit of bounds, as sumUnits in the sum's unit.
func (h *loopHistogram) observe(bounds []float64, v float64, sumUnits uint64) {
	i := 0
	for i < len(bounds) && v > bounds[i] {
		i++
	}
	count(&h.buckets[i])
	countN(&h.sum, sumUnits)
}

// loopMetrics are one event loop's counters; see count.
type loopMetrics struct {
	accepted      atomic.Uint64
	refused       [refusalCount]atomic.Uint64
	received      [proto.EventError + 1]atomic.Uint64
	relayed       [proto.EventError + 1]atomic.Uint64
	relayedBytes  [proto.EventError + 1]atomic.Uint64
	errors        [len(errorCodes)]atomic.Uint64
	closes        [len(closeCodes)]atomic.Uint64
	rateLimited   atomic.Uint64
	rateKicks     atomic.Uint64
	slowConsumers atomic.Uint64
	joinTimeouts  atomic.Uint64
	idleTimeouts  atomic.Uint64
	// Resume (metrics_resume.go): sessions resumed, resumes refused by
	// reason, retained events replayed, and retained events dropped from a
	// full buffer. retainDropped is written under the loop's mu, by
	// whichever goroutine queues the event.
	resumes        atomic.Uint64
	resumeFailures [resumeFailureCount]atomic.Uint64
	replayed       atomic.Uint64
	retainDropped  atomic.Uint64
	// queuedBytes is what gnet held for the loop's clients after the
	// loop's last write (the sum of their conn.held).
	queuedBytes atomic.Int64
	roomSize    loopHistogram
	relayTime   loopHistogram
	offerAnswer loopHistogram
}

// refused counts a connection turned away for reason; call on c's loop.
func (c *conn) refused(reason int) { count(&c.ls.m.refused[reason]) }

// refusedStatus counts an HTTP reply that turns an upgrade away, by its
// status; 200 (a health check) is no refusal.
func (c *conn) refusedStatus(status string) {
	switch status[:3] {
	case "400":
		c.refused(refusedBadRequest)
	case "401":
		c.refused(refusedUnauthorized)
	case "403":
		c.refused(refusedOrigin)
	case "405":
		c.refused(refusedMethod)
	case "426":
		c.refused(refusedNotWebSocket)
	case "431":
		c.refused(refusedHeaderTooLarge)
	}
}

// countClose counts a close decided on c's loop by its code, and the
// reasons that have counters of their own.
func (c *conn) countClose(code ws.StatusCode, reason string) {
	m := &c.ls.m
	count(&m.closes[closeIndex(code)])
	switch reason {
	case reasonRateKick:
		count(&m.rateKicks)
	case reasonSlowConsumer:
		count(&m.slowConsumers)
	case reasonJoinTimeout:
		count(&m.joinTimeouts)
	case reasonIdleTimeout:
		count(&m.idleTimeouts)
	case reasonHandshakeTimeout:
		c.refused(refusedHandshakeTimeout)
	}
}

// The close reasons countClose tells apart; they are the reasons the
// server's close frames carry (docs/protocol.md).
const (
	reasonRateKick         = "rate limit exceeded"
	reasonSlowConsumer     = "not reading fast enough"
	reasonJoinTimeout      = "no room joined"
	reasonIdleTimeout      = "idle timeout"
	reasonHandshakeTimeout = "handshake timeout"
)

// countError counts an error event sent on c's loop.
func (c *conn) countError(code proto.Code) { count(&c.ls.m.errors[errorIndex(code)]) }

// countReceived counts a text message read on c's loop, by its event
// (EventUnknown for one that named none).
func (c *conn) countReceived(e proto.Event) {
	if e > proto.EventError {
		e = proto.EventUnknown
	}
	count(&c.ls.m.received[e])
}

// countJoin observes the size of a room a client just joined.
func (ls *loopState) countJoin(members int) {
	ls.m.roomSize.observe(roomSizeBounds, float64(members), uint64(members))
}

// monotonic is nanoseconds since the server started, read from the
// monotonic clock (unlike now, which a tick advances).
func (s *Server) monotonic() int64 { return int64(time.Since(s.base)) }
