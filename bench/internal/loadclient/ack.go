package loadclient

// Acking as RedRTC's SDK does (docs/protocol.md, "Resume"): a client whose
// client-id carries a resumeToken (a server with resume on) acks seq 0 at
// once, which makes its session resumable, then the last seq it received
// after every ackEvery events, and whatever is left unacked ackAfter after
// it arrived. The server then retains only what is in flight, and the bench
// measures what the SDK's users will see. Servers without resume (the
// baseline, older RedRTC builds) give no token and get no ack.

import (
	"bytes"
	"strconv"
	"time"
)

const (
	ackEvery = 16
	ackAfter = 200 * time.Millisecond
	// ackPoll bounds epoll_wait while acks are due, so that they go out
	// on time between steps too.
	ackPoll = 250
)

var seqKey = []byte(`,"seq":`)

// noteSeq records the seq that ends a server event, if c acks, and acks
// when ackEvery events are unacked.
func (l *poller) noteSeq(c *client, p []byte) {
	if !c.acks {
		return
	}
	i := bytes.LastIndex(p, seqKey)
	if i < 0 {
		return
	}
	seq, _, ok := intAfter(p[i:], `"seq":`)
	if !ok || uint64(seq) <= c.lastSeq {
		return
	}
	c.lastSeq = uint64(seq)
	switch {
	case c.lastSeq-c.acked >= ackEvery:
		l.sendAck(c)
	case c.ackDue == 0:
		c.ackDue = l.now.Add(ackAfter).UnixNano()
		l.ackPending = append(l.ackPending, c)
	}
}

// sendAck acks everything c has received.
func (l *poller) sendAck(c *client) {
	c.ackDue = 0
	if c.state != stOpen {
		return
	}
	c.acked = c.lastSeq
	l.sendText(c, `{"event":"ack","data":{"seq":`, strconv.FormatUint(c.lastSeq, 10), `}}`)
}

// startAcking is called on client-id: with a token, c acks seq 0 at once.
func (l *poller) startAcking(c *client, token string) {
	c.acks, c.lastSeq, c.acked, c.ackDue, c.token = token != "", 0, 0, 0, token
	if c.acks {
		l.sendAck(c)
	}
}

// ackOverdue sends the acks that have waited ackAfter.
func (l *poller) ackOverdue() {
	if len(l.ackPending) == 0 {
		return
	}
	now := l.now.UnixNano()
	kept := l.ackPending[:0]
	for _, c := range l.ackPending {
		switch {
		case c.ackDue == 0:
		case now >= c.ackDue:
			l.sendAck(c)
		default:
			kept = append(kept, c)
		}
	}
	clear(l.ackPending[len(kept):])
	l.ackPending = kept
	l.flushDirty()
}

// ackWait bounds epoll_wait's timeout while acks are pending.
func (l *poller) ackWait(ms int) int {
	if len(l.ackPending) == 0 || (ms >= 0 && ms <= ackPoll) {
		return ms
	}
	return ackPoll
}
