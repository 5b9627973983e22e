package loop

import (
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/rs/zerolog"
)

// What an operator reads at info level: one line when a client is admitted
// and one when its connection ends, a line for refusals (rate-limited), and
// the limits the server started with. None of these is on the relay path,
// and none carries what clients send (SDP, candidates, room names).

// connTimes holds, for each of a loop's conns by idx, when it was admitted
// on the server's coarse clock, 0 for a conn never admitted. It lives
// beside conns rather than in conn, which fills its 128-byte size class
// (TestConnFitsItsSizeClass); remove keeps the two in step.
type connTimes []int64

func (t *connTimes) set(idx int32, at int64) {
	for len(*t) <= int(idx) {
		*t = append(*t, 0)
	}
	(*t)[idx] = at
}

func (t connTimes) at(idx int32) int64 {
	if int(idx) < len(t) {
		return t[idx]
	}
	return 0
}

// moved follows remove, which puts the last conn, at from, in the place of
// the one removed, to, and shortens conns by one.
func (t *connTimes) moved(from, to int32) {
	if int(to) < len(*t) {
		(*t)[to] = t.at(from)
	}
	if int(from) < len(*t) {
		(*t)[from] = 0
		*t = (*t)[:from]
	}
}

// abnormalClosure is the code a client's end is logged with when no close
// frame was exchanged: the peer went away, or its socket failed
// (RFC 6455, section 7.1.5).
const abnormalClosure ws.StatusCode = 1006

// logOpened records a client admitted with its id: the "client connected"
// line and the time its close line counts from.
func (c *conn) logOpened() {
	ls := c.ls
	ls.opened.set(c.idx, ls.srv.now())
	if e := ls.srv.log.Info(); e.Enabled() {
		e.Stringer("client", c.client.ID).Stringer("remote", c.gc.RemoteAddr()).Msg("client connected")
	}
}

// logClosed writes the "client disconnected" line of an admitted client
// whose socket is closed: the close code the server sent or echoed (1006
// when none was), and how long it was connected. Call it from closed,
// before remove.
func (c *conn) logClosed() {
	ls := c.ls
	opened := ls.opened.at(c.idx)
	if opened == 0 {
		return
	}
	e := ls.srv.log.Info()
	if !e.Enabled() {
		return
	}
	code := abnormalClosure
	if c.rare != nil && c.rare.closeCode != 0 {
		code = c.rare.closeCode
	}
	seconds := time.Duration(ls.srv.now() - opened).Round(time.Millisecond).Seconds()
	e.Stringer("client", c.client.ID).Stringer("remote", c.gc.RemoteAddr()).
		Int("code", int(code)).Float64("seconds", seconds).Msg("client disconnected")
}

// refusalLogEvery spaces the lines about refusals of one kind: a flood of
// connections to a full server is one line at its start and then one every
// refusalLogEvery, each with the number refused since the last.
const refusalLogEvery = 10 * time.Second

// refusalLog writes the info line for one kind of refusal, from any loop.
type refusalLog struct {
	// count is the refusals not yet reported; next is when the next line
	// may be written, on the server's clock.
	count, next atomic.Int64
}

// refusals are the server's refusal lines.
type refusals struct {
	serverFull, roomLimit refusalLog
}

// refused counts one refusal and reports it at once, unless a line was
// written less than refusalLogEvery ago.
func (r *refusalLog) refused(s *Server, line func(*Server, int64)) {
	r.count.Add(1)
	r.report(s, line)
}

// report writes the refusals counted so far when it is time for a line.
func (r *refusalLog) report(s *Server, line func(*Server, int64)) {
	now := s.now()
	next := r.next.Load()
	if now < next || r.count.Load() == 0 || !r.next.CompareAndSwap(next, now+int64(refusalLogEvery)) {
		return
	}
	line(s, r.count.Swap(0))
}

func serverFullLine(s *Server, n int64) {
	s.log.Info().Str("reason", "server-full").Int("clients", s.cfg.Clients).Int64("refused", n).
		Msg("clients refused: the server is at --clients")
}

func roomLimitLine(s *Server, n int64) {
	s.log.Info().Str("reason", "room-limit").Int("rooms", s.cfg.Rooms).Int64("refused", n).
		Msg("new rooms refused: the server is at --rooms")
}

// refusedServerFull counts a client turned away with server-full.
func (s *Server) refusedServerFull() { s.refusals.serverFull.refused(s, serverFullLine) }

// refusedRoomLimit counts a join refused with room-limit.
func (s *Server) refusedRoomLimit() { s.refusals.roomLimit.refused(s, roomLimitLine) }

// reportRefusals writes the refusals counted since the last line once
// refusalLogEvery has passed, so that the end of a flood is not left
// untold. It runs on every tick.
func (s *Server) reportRefusals() {
	s.refusals.serverFull.report(s, serverFullLine)
	s.refusals.roomLimit.report(s, roomLimitLine)
}

// logLimits adds the limits with a flag to the start-up line, in the units
// the flags take (seconds, not a time.Duration), under the flags' names.
// The port is in the line's address.
func (c Config) logLimits(e *zerolog.Event) {
	for _, l := range limits {
		if l.Flag == "" || l.ZeroKept {
			continue
		}
		v := l.raw(&c) / l.scale()
		if l.ZeroOff && v < 0 {
			v = 0
		}
		e.Int64(l.Flag, v)
	}
}
