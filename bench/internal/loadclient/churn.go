package loadclient

// The churn step: pairs of clients, over and over, connect, wait for their
// client-ids, join a fresh room, exchange one offer and one answer, leave,
// and close with a close handshake. A session is one client's run through
// all of it, so each completed pair run counts two.

import (
	"bytes"
	"slices"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/redrtc/redrtc/bench/internal/ipc"
)

// Churn events.
const (
	evReady = iota
	evParticipants
	evRelay
	evLeft
	evClosed
)

// Pair stages.
const (
	pIdle = iota
	pConnecting
	pJoining
	pOffer
	pAnswer
	pLeaving
	pClosing
)

type pair struct {
	idx   int
	c     [2]*client // c[0] offers, c[1] answers
	stage int
	got   [2]bool // which side finished the current stage
	room  string
	began time.Time
	runs  int
}

type churnState struct {
	ms, me   int64
	running  bool
	drainEnd time.Time
	timeout  time.Duration
	pairs    []*pair
	nextSrc  int
	stats    ipc.ChurnStats
	hist     *hdrhistogram.Histogram
	errs     map[string]int
}

func (l *poller) startChurn(cmd ipc.Command) {
	cs := &l.cs
	*cs = churnState{
		ms:      cmd.MeasureStart,
		me:      cmd.MeasureEnd,
		running: true,
		timeout: 10 * time.Second,
		hist:    ipc.NewHist(),
		errs:    make(map[string]int),
		nextSrc: l.id * 7919,
	}
	for i := 0; i < cmd.Pairs; i++ {
		p := &pair{idx: i}
		for r := range p.c {
			p.c[r] = &client{fd: -1, state: stIdle, pair: p, role: r}
		}
		cs.pairs = append(cs.pairs, p)
	}
	cs.stats.Pairs = len(cs.pairs)
	for _, p := range cs.pairs {
		l.pairStart(p)
	}
}

func (l *poller) pairStart(p *pair) {
	cs := &l.cs
	p.stage = pConnecting
	p.got = [2]bool{}
	p.began = l.now
	p.runs++
	p.room = "churn-" + strconv.Itoa(l.w.cfg.First) + "-" + strconv.Itoa(l.id) + "-" + strconv.Itoa(p.idx) + "-" + strconv.Itoa(p.runs)
	for _, c := range p.c {
		c.src = cs.nextSrc
		cs.nextSrc++
		c.room, c.view = nil, nil
		if err := l.dial(c); err != nil {
			c.state = stClosed
			l.churnFail(p, errText(err))
			return
		}
	}
}

// churnFail abandons a pair's session and, while running, starts another.
func (l *poller) churnFail(p *pair, reason string) {
	cs := &l.cs
	if p.stage == pIdle {
		return
	}
	for _, c := range p.c {
		l.closeConn(c)
	}
	p.stage = pIdle
	if cs.running {
		// churnProgress starts the pair again after the next epoll round,
		// so that a failure that repeats cannot recurse.
		cs.stats.Failures++
		l.count("churn: " + reason)
	} else {
		cs.stats.Unfinished++
	}
}

// both records that side finished the stage and reports whether both have.
func (p *pair) both(side int) bool {
	p.got[side] = true
	if p.got[0] && p.got[1] {
		p.got = [2]bool{}
		return true
	}
	return false
}

func (l *poller) churnEvent(c *client, ev int, msg []byte) {
	p := c.pair
	a, b := p.c[0], p.c[1]
	switch {
	case ev == evReady && p.stage == pConnecting:
		if p.both(c.role) {
			p.stage = pJoining
			for _, m := range p.c {
				l.sendJoin(m, p.room)
			}
		}
	case ev == evParticipants && p.stage == pJoining:
		if len(c.view) == 2 && p.both(c.role) {
			want := []string{string(a.id), string(b.id)}
			alt := []string{string(b.id), string(a.id)}
			if !(slices.Equal(a.view, want) || slices.Equal(a.view, alt)) || !slices.Equal(a.view, b.view) {
				l.churnFail(p, "participants do not match the pair")
				return
			}
			p.stage = pOffer
			l.sendText(a, `{"event":"offer","data":{"targetClientId":"`, string(b.id), `","offer":{"type":"offer","seq":0,"ts":0,"sdp":"`, l.w.tmpl.sdp, `"}}}`)
		}
	case ev == evRelay && p.stage == pOffer && c == b:
		if !relayFrom(msg, "offer", a.id) {
			l.churnFail(p, "offer not relayed as sent")
			return
		}
		p.stage = pAnswer
		l.sendText(b, `{"event":"answer","data":{"targetClientId":"`, string(a.id), `","answer":{"type":"answer","seq":0,"ts":0,"sdp":"`, l.w.tmpl.sdp, `"}}}`)
	case ev == evRelay && p.stage == pAnswer && c == a:
		if !relayFrom(msg, "answer", b.id) {
			l.churnFail(p, "answer not relayed as sent")
			return
		}
		p.stage = pLeaving
		for _, m := range p.c {
			l.sendText(m, `{"event":"leave-room","data":{}}`)
		}
	case ev == evLeft && p.stage == pLeaving:
		if p.both(c.role) {
			p.stage = pClosing
			for _, m := range p.c {
				l.startClose(m)
			}
		}
	case ev == evClosed && p.stage == pClosing:
		if p.both(c.role) {
			l.pairDone(p)
		}
	case ev == evParticipants || ev == evReady:
		// a participants update after the pair is complete; nothing to do
	default:
		l.churnFail(p, "unexpected message at stage "+strconv.Itoa(p.stage))
	}
}

// relayFrom checks a relayed message's event and sender.
func relayFrom(msg []byte, event string, from []byte) bool {
	if !bytes.HasPrefix(msg, []byte(`{"event":"`+event+`"`)) {
		name, ok := eventName(msg)
		if !ok || name != event {
			return false
		}
	}
	f, _, _, ok := relayFields(msg)
	return ok && bytes.Equal(f, from)
}

func (l *poller) pairDone(p *pair) {
	cs := &l.cs
	p.stage = pIdle
	cs.stats.Sessions += 2
	nowNs := l.now.UnixNano()
	if nowNs >= cs.ms && nowNs < cs.me {
		cs.stats.SessionsWin += 2
		_ = cs.hist.RecordValue(max(1, l.now.Sub(p.began).Microseconds()))
	}
	if cs.running {
		l.pairStart(p)
	}
}

func (l *poller) churnProgress() {
	cs := &l.cs
	if cs.running && l.now.UnixNano() >= cs.me {
		cs.running = false
		drain := time.Duration(l.task.cmd.DrainNs)
		if drain <= 0 {
			drain = 5 * time.Second
		}
		cs.drainEnd = l.now.Add(drain)
	}
	busy := 0
	for _, p := range cs.pairs {
		if p.stage == pIdle {
			if cs.running {
				l.pairStart(p)
			}
			continue
		}
		if l.now.Sub(p.began) > cs.timeout {
			l.churnFail(p, "session took longer than "+cs.timeout.String()+" at stage "+strconv.Itoa(p.stage))
			continue
		}
		busy++
	}
	if cs.running {
		return
	}
	if busy > 0 && !l.now.After(cs.drainEnd) {
		return
	}
	for _, p := range cs.pairs {
		if p.stage != pIdle {
			l.churnFail(p, "unfinished at the end")
		}
	}
	st := cs.stats
	st.Hist = cs.hist.Export()
	errs := cs.errs
	rep := ipc.Report{
		Total:   len(cs.pairs),
		Done:    len(cs.pairs),
		Reasons: l.st.reasons,
		Errors:  errs,
		Churn:   &st,
	}
	cs.pairs = nil
	cs.hist = nil
	l.finish(rep)
}
