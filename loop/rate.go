package loop

import (
	"time"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
)

// allow applies the per-client rate limit to one incoming message and
// reports whether to handle it. The limit is a token bucket kept as one
// timestamp (the generic cell rate algorithm): no timer per client, a few
// bytes each. A dropped message gets a rate-limited error, at most one a
// second; a client whose messages keep being dropped (drops no more than 2s
// apart) for --rate-kick is closed with 1008.
func (s *Server) allow(c *conn) bool {
	if s.cfg.Rate < 0 {
		return true
	}
	now := s.now()
	interval := int64(time.Second) / int64(s.cfg.Rate)
	tolerance := interval * int64(s.cfg.Burst-1)
	tat := max(c.tat, now)
	if tat-now <= tolerance {
		c.tat = tat + interval
		return true
	}

	// Drops at most 2s apart make one run. (The clock is coarse: it moves
	// once a tick, and ticks come a little over a second apart.)
	r := c.rareState()
	if now-r.lastDrop > int64(2*time.Second) {
		r.overSince = now
	}
	r.lastDrop = now
	if now-r.overSince >= int64(s.cfg.RateKick) {
		s.log.Debug().Str("client", proto.ClientID(c.client.ID).String()).Msg("closing a client over its rate")
		c.sendAndClose(c.ls.closeFrame(ws.StatusPolicyViolation, "rate limit exceeded"))
		return false
	}
	if r.lastRateError == 0 || now-r.lastRateError >= int64(time.Second) {
		r.lastRateError = now
		s.sendError(c, proto.Problem{Code: proto.CodeRateLimited, Message: "too many messages; this one was dropped"})
	}
	return false
}
