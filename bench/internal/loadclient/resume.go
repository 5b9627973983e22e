package loadclient

// The resume mode of the relay step (docs/protocol.md, "Resume"): every
// ResumeEveryNs, each client of a server that gave it a resume token drops
// its connection with probability ResumeFraction and resumes its session on
// a new one, while everyone relays. A dropping client stops sending, sends
// ping, and closes its socket without a close frame when the pong comes (so
// the server has read all it sent: resume covers what the server sends, not
// what a client's dead socket never delivered); it redials, answers its new
// client-id with resume {clientId, resumeToken, lastSeq}, and is back when
// resumed arrives. The relay's per-pair accounting proves that what was sent
// to it meanwhile arrives exactly once; the time from the close to resumed
// is the resume latency.

import (
	"strconv"
	"time"

	"github.com/redrtc/redrtc/bench/internal/ipc"
)

// resumeState is the relay step's resume bookkeeping.
type resumeState struct {
	fraction float64
	every    int64 // ns between rounds of drops
	nextNs   int64
	// ready lists the clients whose pong came: they drop once the input
	// being processed, which may hold more of their events, is done.
	ready []*client
}

// startResume sets the mode up from the relay command.
func (l *poller) startResume(cmd ipc.Command) {
	l.rsm = resumeState{fraction: cmd.ResumeFraction, every: cmd.ResumeEveryNs}
	if l.rsm.every > 0 {
		l.rsm.nextNs = l.rs.startNs + l.rsm.every
	}
}

// resumeProgress starts a round of drops when one is due.
func (l *poller) resumeProgress() {
	m := &l.rsm
	for _, c := range m.ready {
		l.dropAndRedial(c)
	}
	clear(m.ready)
	m.ready = m.ready[:0]
	if m.fraction <= 0 || m.every <= 0 || !l.rs.sending || l.now.UnixNano() < m.nextNs {
		return
	}
	m.nextNs += m.every
	for _, c := range l.rs.senders {
		if c.state == stOpen && c.acks && !c.away() && float64(l.rand()%1_000_000) < m.fraction*1_000_000 {
			c.dropWanted = true
			l.sendText(c, `{"event":"ping","data":{}}`)
		}
	}
}

// away reports whether c is dropping or resuming, and so sends nothing.
func (c *client) away() bool { return c.dropWanted || c.resuming }

// onPong readies a client that asked for its pong before dropping.
func (l *poller) onPong(c *client) {
	if c.dropWanted {
		l.rsm.ready = append(l.rsm.ready, c)
	}
}

// dropAndRedial closes c's socket without a close frame and dials anew.
func (l *poller) dropAndRedial(c *client) {
	c.dropWanted = false
	c.resuming = true
	c.dropNs = time.Now().UnixNano()
	id := append([]byte(nil), c.id...)
	l.closeConn(c) // no close frame: a dropped network
	if err := l.dial(c); err != nil {
		l.rs.stats.ResumeFailed++
		l.count("resume: redial: " + err.Error())
		c.resuming = false
	}
	c.id = id // room-mates go on addressing the session
}

// sendResume answers a resuming client's new client-id.
func (l *poller) sendResume(c *client) {
	l.sendText(c, `{"event":"resume","data":{"clientId":"`, string(c.id), `","resumeToken":"`, c.token,
		`","lastSeq":`, strconv.FormatUint(c.lastSeq, 10), `}}`)
}

// onResumed: the session is back; what was missed follows.
func (l *poller) onResumed(c *client, dropped int64) {
	if !c.resuming {
		l.count("resumed without a resume")
		return
	}
	c.resuming = false
	c.ready, c.complete = true, true
	c.acked = c.lastSeq // the server forgot everything up to lastSeq
	st := &l.rs.stats
	st.Resumes++
	st.ResumeDropped += dropped
	if l.rs.resumeHist != nil {
		_ = l.rs.resumeHist.RecordValue(max(1, (time.Now().UnixNano()-c.dropNs)/1000))
	}
}

// resumeLost counts a resuming client whose new connection was lost (or
// refused: server-full) as a failed resume.
func (l *poller) resumeLost(c *client) {
	if c.resuming {
		c.resuming = false
		l.rs.stats.ResumeFailed++
	}
}

// onResumeFailed: the session is gone; the client stays away for the rest
// of the step, and what was sent to it shows as lost.
func (l *poller) onResumeFailed(c *client) {
	l.rs.stats.ResumeFailed++
}
