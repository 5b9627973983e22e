package loop

import (
	"time"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
)

// sharesPerMessage splits one message's allowance into shares, so that a
// frame that is not a whole message — a pong, or a fragment before the
// last — can cost one share. Pongs and fragments do nothing alone, but a
// flood of them costs the loop as much as any other, so they count —
// lightly, as a client that fragments its messages sends several per
// message.
const sharesPerMessage = 8

// messageUnit is the message size the rate limit counts as one message: a
// larger message counts once for each started unit. Otherwise --burst
// messages of 64 KiB (12.5 MiB) from one room-mate would be within the
// limit, and would get a reader that is merely slow dropped at
// --max-outbound. Offers and answers are a few KiB, candidates a few
// hundred bytes: normal signaling counts one per message.
const messageUnit = 4 << 10

// rateLimit is --rate and --burst turned into the bucket's terms once, at
// start. Its zero value, for --rate off, lets everything through.
type rateLimit struct {
	// interval is the time one message's worth of allowance takes to come
	// back, and tolerance how far ahead of the clock the bucket may run
	// (--burst less one message), both in nanoseconds.
	interval, tolerance int64
}

func newRateLimit(cfg Config) rateLimit {
	if cfg.Rate < 0 {
		return rateLimit{}
	}
	interval := int64(time.Second) / int64(cfg.Rate)
	return rateLimit{interval: interval, tolerance: interval * int64(cfg.Burst-1)}
}

// allowMessage applies the per-client rate limit to a data message or ping
// of size bytes and reports whether to handle it.
func (c *conn) allowMessage(size int) bool {
	return c.charge(sharesPerMessage * int64(max(1, (size+messageUnit-1)/messageUnit)))
}

// allowFrame charges a pong or a non-final fragment; over the rate, the
// frame counts towards --rate-kick like a dropped message.
func (c *conn) allowFrame() bool { return c.charge(1) }

// chargeFragment charges a fragment before a message's last, keeping count
// for the refund when the message completes; over the rate, the message
// will be dropped whole.
func (c *conn) chargeFragment() {
	r := c.rare
	if c.allowFrame() {
		r.fragPaid++
	} else {
		r.fragOver = true
	}
}

// refund gives back shares charged earlier.
func (c *conn) refund(shares int64) {
	c.tat -= c.ls.srv.rate.interval * shares / sharesPerMessage
}

// charge takes shares/sharesPerMessage of a message from c's allowance and reports
// whether it was there. The limit is a token bucket kept as one timestamp
// (the generic cell rate algorithm): no timer per client, a few bytes each.
// Over the rate, the client gets a rate-limited error, at most one a second;
// a client that stays over (drops no more than 2s apart) for --rate-kick is
// closed with 1008.
func (c *conn) charge(shares int64) bool {
	s := c.ls.srv
	if s.rate.interval == 0 {
		return true
	}
	now := s.now()
	tat := max(c.tat, now)
	if tat-now <= s.rate.tolerance {
		c.tat = tat + s.rate.interval*shares/sharesPerMessage
		return true
	}

	// Drops at most 2s apart make one run. (The clock is coarse: it moves
	// once a tick, every 20 to 100 ms.)
	r := c.rareState()
	if now-r.lastDrop > int64(2*time.Second) {
		r.overSince = now
	}
	r.lastDrop = now
	if now-r.overSince >= int64(s.cfg.RateKick) {
		s.log.Debug().Str("client", clientIDText(c)).Msg("closing a client over its rate")
		c.close(ws.StatusPolicyViolation, reasonRateKick)
		return false
	}
	count(&c.ls.m.rateLimited)
	if r.lastRateError == 0 || now-r.lastRateError >= int64(time.Second) {
		r.lastRateError = now
		c.sendError(proto.Problem{Code: proto.CodeRateLimited, Message: "too many messages; this one was dropped"})
	}
	return false
}
