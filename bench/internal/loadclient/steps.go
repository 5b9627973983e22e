package loadclient

// The steps a poller runs on its long-lived clients: connect, join, leave and
// close, each counted client by client, each bounded by a deadline. Relay and
// churn are in relay.go and churn.go.

import (
	"slices"
	"strconv"
	"time"

	"github.com/redrtc/redrtc/bench/internal/ipc"
)

// start begins a task on the poller goroutine.
func (l *poller) start(t *task) {
	if l.task != nil { // the coordinator never overlaps steps
		t.result <- pollerResult{rep: ipc.Report{Op: t.cmd.Op, Err: "loop busy with " + l.task.cmd.Op}}
		return
	}
	l.task = t
	l.now = time.Now()
	l.st = stepState{op: t.cmd.Op, start: l.now}
	timeout := time.Duration(t.cmd.TimeoutNs)
	if timeout <= 0 {
		timeout = time.Minute
	}
	l.st.deadline = l.now.Add(timeout)
	switch t.cmd.Op {
	case "connect":
		l.startConnect()
	case "join":
		l.startJoin()
	case "leave":
		l.startLeave()
	case "close":
		l.startCloseStep()
	case "relay":
		l.startRelay(t.cmd)
	case "churn":
		l.startChurn(t.cmd)
	default:
		l.finish(ipc.Report{Err: "unknown op " + t.cmd.Op})
		return
	}
	l.progress()
}

// progress advances the running task; called after every epoll round.
func (l *poller) progress() {
	switch l.task.cmd.Op {
	case "relay":
		l.relayProgress()
		return
	case "churn":
		l.churnProgress()
		return
	case "connect":
		l.connectMore()
	}
	st := &l.st
	if st.done+st.failed >= st.total {
		l.finishStep()
		return
	}
	if l.now.After(st.deadline) {
		l.stepTimeout()
		l.finishStep()
	}
}

// finish reports the task's result and frees the poller for the next one.
func (l *poller) finish(rep ipc.Report) {
	t := l.task
	l.task = nil
	rep.Op = t.cmd.Op
	t.result <- pollerResult{rep: rep}
}

// finishStep reports a connect, join, leave or close step.
func (l *poller) finishStep() {
	st := &l.st
	if st.op == "join" {
		l.checkRooms()
	}
	if st.op == "leave" {
		for _, c := range l.clients {
			c.room = nil
		}
		l.rooms = nil
	}
	rep := ipc.Report{
		Total:   st.total,
		Done:    st.done,
		Failed:  st.failed,
		Reasons: st.reasons,
		Errors:  st.errs,
		StartNs: st.start.UnixNano(),
	}
	if !st.lastDone.IsZero() {
		rep.LastNs = st.lastDone.UnixNano()
	}
	l.finish(rep)
}

// beginStep marks which clients take part in a step; the others are left
// out of its counts.
func (l *poller) beginStep(takesPart func(c *client) bool) []*client {
	var part []*client
	for _, c := range l.clients {
		c.failed = false
		if takesPart(c) {
			c.stepDone = false
			part = append(part, c)
		} else {
			c.stepDone = true
		}
	}
	l.st.total = len(part)
	return part
}

func (l *poller) markDone(c *client) {
	if c.stepDone || c.failed || l.task == nil {
		return
	}
	c.stepDone = true
	l.st.done++
	l.st.lastDone = l.now
}

func (l *poller) markFailed(c *client, reason string) {
	if c.stepDone || c.failed || l.task == nil {
		return
	}
	c.failed = true
	l.st.failed++
	l.count(reason)
}

// stepTimeout fails every client still waiting at the deadline.
func (l *poller) stepTimeout() {
	reason := l.st.op + ": no answer within the deadline"
	for _, c := range l.clients {
		if !c.stepDone && !c.failed {
			if l.st.op == "close" || l.st.op == "connect" {
				l.closeConn(c)
			}
			l.markFailed(c, reason)
		}
	}
	l.st.pending = 0
}

// ---- connect ----

func (l *poller) startConnect() {
	l.beginStep(func(c *client) bool { return c.state == stIdle })
	l.st.next = 0
}

// connectMore starts connections while fewer than MaxPending are in flight.
func (l *poller) connectMore() {
	st := &l.st
	limit := max(1, l.w.cfg.MaxPending)
	for st.pending < limit && st.next < len(l.clients) {
		c := l.clients[st.next]
		st.next++
		if c.state != stIdle {
			continue
		}
		if err := l.dial(c); err != nil {
			c.state = stClosed
			l.markFailed(c, errText(err))
			continue
		}
		st.pending++
	}
}

// onReady is called when c got its client-id.
func (l *poller) onReady(c *client) {
	if c.pair != nil {
		l.churnEvent(c, evReady, nil)
		return
	}
	c.ready = true
	l.byID[string(c.id)] = c
	if l.task != nil && l.st.op == "connect" {
		l.st.pending--
		l.markDone(c)
	}
}

// ---- join ----

func (l *poller) startJoin() {
	joiners := l.w.cfg.Joiners
	part := l.beginStep(func(c *client) bool {
		global := l.w.cfg.First + l.first + c.idx
		return c.ready && c.state == stOpen && (joiners <= 0 || global < joiners)
	})
	// Rooms are planned by global client index, so that every room lives
	// in one poller of one worker; only clients that connected are in them.
	l.rooms = l.rooms[:0]
	var cur *room
	curIdx := -1
	for _, c := range part {
		global := l.w.cfg.First + l.first + c.idx
		ri := global / l.w.cfg.RoomSize
		if ri != curIdx {
			cur = &room{name: l.w.cfg.RoomPrefix + strconv.Itoa(ri)}
			l.rooms = append(l.rooms, cur)
			curIdx = ri
		}
		cur.members = append(cur.members, c)
		c.room = cur
		c.view = nil
		c.complete = false
	}
	for _, r := range l.rooms {
		r.expected = len(r.members)
		for _, c := range r.members {
			l.sendJoin(c, r.name)
		}
	}
}

func (l *poller) onParticipants(c *client) {
	if c.pair != nil {
		l.churnEvent(c, evParticipants, nil)
		return
	}
	if l.task == nil || l.st.op != "join" || c.room == nil {
		return
	}
	if len(c.view) == c.room.expected {
		c.complete = true
		l.markDone(c)
	}
}

// memberLost lowers a room's expected size when a member fails while
// joining; the server announces the departure to the others.
func (l *poller) memberLost(c *client) {
	r := c.room
	if r == nil || l.task == nil || l.st.op != "join" {
		return
	}
	r.expected--
	for _, m := range r.members {
		if m != c && m.state == stOpen && len(m.view) == r.expected {
			m.complete = true
			l.markDone(m)
		}
	}
}

// checkRooms verifies that the members of every room agree on its
// participants, and puts them in the server's join order.
func (l *poller) checkRooms() {
	for _, r := range l.rooms {
		var alive []*client
		for _, c := range r.members {
			if c.complete && c.state == stOpen {
				alive = append(alive, c)
			}
		}
		if len(alive) == 0 {
			r.members = nil
			continue
		}
		order := alive[0].view
		consistent := len(order) == len(alive)
		for _, c := range alive[1:] {
			if !slices.Equal(c.view, order) {
				consistent = false
			}
		}
		if consistent {
			members := make([]*client, 0, len(order))
			for _, id := range order {
				m := l.byID[id]
				if m == nil || m.room != r {
					consistent = false
					break
				}
				members = append(members, m)
			}
			if consistent {
				alive = members
			}
		}
		if !consistent {
			l.count("join: room members disagree on the participants")
		}
		r.members = alive
		r.expected = len(alive)
		for i, c := range alive {
			c.pos = i
		}
	}
}

// ---- leave ----

func (l *poller) startLeave() {
	part := l.beginStep(func(c *client) bool { return c.room != nil && c.state == stOpen })
	for _, c := range part {
		c.left = false
		l.sendText(c, `{"event":"leave-room","data":{}}`)
	}
}

func (l *poller) onLeft(c *client) {
	if c.pair != nil {
		l.churnEvent(c, evLeft, nil)
		return
	}
	c.left = true
	if l.task != nil && l.st.op == "leave" {
		l.markDone(c)
	}
}

// ---- close ----

func (l *poller) startCloseStep() {
	part := l.beginStep(func(c *client) bool { return c.state == stOpen })
	for _, c := range part {
		l.startClose(c)
	}
}

// closedCleanly ends a close handshake.
func (l *poller) closedCleanly(c *client) {
	l.closeConn(c)
	if c.pair != nil {
		l.churnEvent(c, evClosed, nil)
		return
	}
	if l.task != nil && l.st.op == "close" {
		l.markDone(c)
	}
}

// ---- failures ----

// connFailed: a connection could not be set up.
func (l *poller) connFailed(c *client, reason string) {
	l.connLost(c, reason)
}

// connEOF: the server closed the connection.
func (l *poller) connEOF(c *client) {
	if c.state == stClosing {
		l.closedCleanly(c)
		return
	}
	l.connLost(c, "connection closed by server")
}

// connLost: a connection ended without a close handshake.
func (l *poller) connLost(c *client, reason string) {
	l.resumeLost(c)
	wasConnecting := c.state == stConnecting || c.state == stHandshake || (c.state == stOpen && !c.ready)
	l.closeConn(c)
	if c.pair != nil {
		l.churnFail(c.pair, reason)
		return
	}
	if l.task == nil {
		l.count("lost between steps: " + reason)
		return
	}
	switch l.st.op {
	case "connect":
		if wasConnecting {
			l.st.pending--
		}
		l.markFailed(c, reason)
	case "join":
		l.markFailed(c, "join: "+reason)
		l.memberLost(c)
	case "relay":
		l.count("relay: connection lost: " + reason)
	case "close":
		// An abrupt end still ends the client; count how it ended.
		l.count("close: " + reason)
		l.markDone(c)
	default:
		l.markFailed(c, l.st.op+": "+reason)
	}
}

// onError counts an error event; it fails the client's step when it answers
// that step's request.
func (l *poller) onError(c *client, code, msg, event string) {
	if l.st.errs == nil {
		l.st.errs = make(map[string]int)
	}
	key := code
	if event != "" {
		key += " (" + event + ")"
	}
	if c.pair != nil {
		l.cs.errs[key]++
		l.churnFail(c.pair, "error "+key+": "+msg)
		return
	}
	if l.task == nil {
		l.count("error between steps: " + key)
		return
	}
	l.st.errs[key]++
	switch {
	case l.st.op == "join" && event == "join-room":
		l.markFailed(c, "join: "+code+": "+msg)
		l.memberLost(c)
	case l.st.op == "leave" && event == "leave-room":
		l.markFailed(c, "leave: "+code+": "+msg)
	case l.st.op == "connect" && code == "server-full":
		// The close that follows fails the client.
	}
}
