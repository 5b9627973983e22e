package loop

import (
	"context"
	"time"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
)

// idleScan runs on one event loop, queued there by OnTick, and handles that
// loop's connections without any lock: no timer per connection.
type idleScan struct{ ls *loopState }

// scanBatch is how many connections one tick looks at on each loop. With a
// tick every 100 ms, a loop holding 10,000 connections sees each one every
// second; timeouts are at least 30 s, so that is precise enough.
const scanBatch = 1024

// Run moves the loop's ending connections on (lifecycle.go), closes
// connections idle past --timeout (1001), pings those idle for a third of
// it, closes clients that joined no room within --join-timeout (1008), and
// closes connections still in the HTTP upgrade after HandshakeTimeout.
func (t idleScan) Run(context.Context) error {
	ls := t.ls
	s := ls.srv
	ls.enter()
	defer ls.exit()
	defer s.recoverLoop("looking for idle connections")
	now := s.now()
	ls.sweepEnding(now)
	ls.sweepDetached(now, false)
	timeout := int64(s.cfg.Timeout)
	// A bounded slice per tick, resuming where the last one stopped, so
	// that no tick holds up the loop's traffic for long. Closing a
	// connection never removes it from ls.conns here: gnet closes sockets
	// asynchronously, and OnClose runs after this task.
	for range min(len(ls.conns), scanBatch) {
		if ls.scanNext >= len(ls.conns) {
			ls.scanNext = 0
		}
		c := ls.conns[ls.scanNext]
		ls.scanNext++
		idle := now - c.lastSeen
		switch c.state {
		case stateHandshaking:
			if idle >= int64(s.hooks.handshakeTimeout) {
				c.close(0, reasonHandshakeTimeout)
			}
		case stateOpen:
			if c.held != 0 {
				ls.noteHeld(c) // gnet writes on without telling the loop
			}
			switch {
			case idle >= timeout:
				c.closeDropped(ws.StatusGoingAway, reasonIdleTimeout)
			case !c.inRoom() && now-s.started-int64(c.roomlessSince)*int64(time.Second) >= int64(s.cfg.JoinTimeout):
				c.sendError(proto.Problem{Code: proto.CodeJoinTimeout, Message: "no room joined in time; closing"})
				c.close(ws.StatusPolicyViolation, reasonJoinTimeout)
			case idle >= timeout/3 && !c.pinged:
				c.pinged = true
				c.Send(ls.finish(ls.begin(), ws.OpPing))
			}
		}
	}
	return nil
}
