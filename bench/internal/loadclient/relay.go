package loadclient

// The relay step: every client of a complete room sends offers, answers and
// ICE candidates to its room-mates, at a fixed rate or as fast as a window of
// messages in flight allows. Every message carries a per-pair sequence number
// and its send time; the receiver checks it came from the right client, was
// sent in this step, was really sent, and arrives once.

import (
	"bytes"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/gobwas/ws"
	"github.com/redrtc/redrtc/bench/internal/ipc"
	"github.com/redrtc/redrtc/bench/internal/layout"
)

// relayBurst bounds the messages sent per poller round, so that reading keeps up.
const relayBurst = 256

// sendTick is how often a poller sending at a fixed rate wakes to send what
// has fallen due (its epoll_wait timeout).
const sendTick = time.Millisecond

// sentStamp is the send time a fixed-rate message carries, from which its
// latency is counted: the time it fell due, plus the sendTick the poller may
// take to wake for it, or the time it was really sent if that was sooner.
// A message held back (the window full behind a slow server, the load
// generator itself late) counts the wait as latency, as its sender would
// have seen it; counting from the moment it finally went out would leave
// exactly the slow stretches out (coordinated omission). seq is the
// message's number among the poller's messages, from 0; the as-fast-as-
// possible run (rate 0) has no schedule and stamps the time sent.
func sentStamp(nowNs, startNs, seq int64, rate float64) int64 {
	if rate <= 0 {
		return nowNs
	}
	return min(nowNs, dueAt(startNs, seq, rate)+int64(sendTick))
}

// The fixed-rate schedule, both ways: message seq (from 0) falls due at
// dueAt, and dueBy messages have fallen due by nowNs (the poller sends that
// many), the two agreeing to within the nanosecond that rounding moves.
func dueAt(startNs, seq int64, rate float64) int64 {
	return startNs + int64(float64(seq+1)*1e9/rate)
}

func dueBy(startNs, nowNs int64, rate float64) int64 {
	return int64(float64(nowNs-startNs) * rate / 1e9)
}

type relayState struct {
	rate     float64 // msgs/s for this poller; 0 = as fast as possible
	window   int64
	startNs  int64
	ms, me   int64 // the measured window, unix ns
	drainEnd time.Time
	sending  bool
	senders  []*client
	cursor   int
	inflight int64
	stats    ipc.RelayStats
	hist     *hdrhistogram.Histogram
	// resumeHist is the resume latency, in µs (resume.go)
	resumeHist *hdrhistogram.Histogram
}

func (l *poller) startRelay(cmd ipc.Command) {
	rs := &l.rs
	*rs = relayState{
		rate:    cmd.Rate,
		window:  int64(max(1, cmd.Window)),
		startNs: l.now.UnixNano(),
		ms:      cmd.MeasureStart,
		me:      cmd.MeasureEnd,
		sending: true,
		hist:    ipc.NewHist(),
	}
	if cmd.ResumeFraction > 0 {
		rs.resumeHist = ipc.NewHist()
	}
	l.startResume(cmd)
	set, err := layout.ParsePairSet(cmd.PairSet)
	if err != nil {
		l.count("relay: " + err.Error())
	}
	var nodes []int
	for _, c := range l.clients {
		c.k = 0
		c.sendSeq = [roomCap]uint32{}
		for i := range c.seen {
			c.seen[i] = c.seen[i][:0]
		}
		c.targets = c.targets[:0]
		if c.state == stOpen && c.complete && c.room != nil && len(c.room.members) >= 2 {
			nodes = nodes[:0]
			for _, m := range c.room.members {
				nodes = append(nodes, int(m.node))
			}
			if c.targets = layout.Targets(c.targets, nodes, c.pos, set); len(c.targets) > 0 {
				rs.senders = append(rs.senders, c)
			}
		}
	}
	rs.stats.Senders = len(rs.senders)
	if len(rs.senders) == 0 {
		rs.sending = false
	}
}

func (l *poller) relayProgress() {
	l.resumeProgress()
	rs := &l.rs
	nowNs := l.now.UnixNano()
	if rs.sending && nowNs >= rs.me {
		rs.sending = false
		drain := time.Duration(l.task.cmd.DrainNs)
		if drain <= 0 {
			drain = 5 * time.Second
		}
		rs.drainEnd = l.now.Add(drain)
	}
	if rs.sending {
		budget := int64(relayBurst)
		if rs.rate > 0 {
			budget = min(budget, dueBy(rs.startNs, nowNs, rs.rate)-rs.stats.Sent)
		}
		budget = min(budget, rs.window-rs.inflight)
		for ; budget > 0; budget-- {
			c := rs.senders[rs.cursor]
			rs.cursor++
			if rs.cursor == len(rs.senders) {
				rs.cursor = 0
			}
			if c.state == stOpen && !c.away() {
				l.sendRelay(c)
			}
		}
		l.flushDirty()
		return
	}
	if rs.inflight <= 0 || l.now.After(rs.drainEnd) {
		l.finishRelay()
	}
}

// The message mix: per sender, offer, answer, then four candidates, round
// robin over its room-mates (those of the step's pair set: layout.Targets).
var relayCycle = [...]int{kindOffer, kindAnswer, kindCandidate, kindCandidate, kindCandidate, kindCandidate}

// sendRelay sends c's next message.
func (l *poller) sendRelay(c *client) {
	rs := &l.rs
	r := c.room
	t := int(c.targets[c.k%uint32(len(c.targets))])
	target := r.members[t]
	kind := relayCycle[c.k%uint32(len(relayCycle))]
	c.k++
	seq := c.sendSeq[t]
	c.sendSeq[t]++
	tp := &l.w.tmpl.kinds[kind]
	ts := sentStamp(time.Now().UnixNano(), rs.startNs, rs.stats.Sent, rs.rate)

	b := l.enc[:maxClientHeader]
	b = append(b, tp.pre...)
	b = append(b, target.id...)
	b = append(b, tp.mid...)
	b = strconv.AppendUint(b, uint64(seq), 10)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, tp.post...)
	l.enc = b
	l.queue(c, l.finishFrame(b, ws.OpText))

	rs.stats.Sent++
	rs.inflight++
	if ts >= rs.ms && ts < rs.me {
		rs.stats.SentWin++
	}
}

// onRelay accounts for a relayed message received by c.
func (l *poller) onRelay(c *client, event string, p []byte) {
	if c.pair != nil {
		l.churnEvent(c, evRelay, p)
		return
	}
	if l.task == nil || l.task.cmd.Op != "relay" {
		l.count("relay message outside a relay step")
		return
	}
	rs := &l.rs
	from, seq, ts, ok := relayFields(p)
	if !ok {
		rs.stats.Malformed++
		return
	}
	now := time.Now().UnixNano()
	r := c.room
	pos := -1
	if r != nil {
		for i, m := range r.members {
			if bytes.Equal(m.id, from) {
				pos = i
				break
			}
		}
	}
	if pos < 0 || pos == c.pos {
		rs.stats.Misattributed++
		return
	}
	if ts < rs.startNs {
		rs.stats.Stale++
		return
	}
	sender := r.members[pos]
	if seq < 0 || seq >= int64(sender.sendSeq[c.pos]) {
		rs.stats.Phantom++
		return
	}
	w, bit := int(seq>>6), uint64(1)<<(seq&63)
	seen := c.seen[pos]
	for len(seen) <= w {
		seen = append(seen, 0)
	}
	c.seen[pos] = seen
	if seen[w]&bit != 0 {
		rs.stats.Duplicates++
		return
	}
	seen[w] |= bit
	rs.stats.Received++
	rs.inflight--
	if ts >= rs.ms && ts < rs.me {
		rs.stats.RecvWinBySend++
		_ = rs.hist.RecordValue(max(1, (now-ts)/1000))
	}
	if now >= rs.ms && now < rs.me {
		rs.stats.RecvInWin++
		rs.stats.BytesInWin += int64(len(p))
	}
}

func (l *poller) finishRelay() {
	rs := &l.rs
	st := rs.stats
	st.Hist = rs.hist.Export()
	if rs.resumeHist != nil {
		st.ResumeHist = rs.resumeHist.Export()
	}
	rep := ipc.Report{
		Total:   len(rs.senders),
		Done:    len(rs.senders),
		Reasons: l.st.reasons,
		Errors:  l.st.errs,
		StartNs: rs.startNs,
		Relay:   &st,
	}
	rs.senders = nil
	rs.hist, rs.resumeHist = nil, nil
	l.finish(rep)
}
