package loop

import (
	"context"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// goodbyeReason is the close reason every client gets when the server stops,
// with 1001 (going away): a client that sees it can reconnect at once,
// elsewhere or later, instead of treating a dropped connection as a fault.
const goodbyeReason = "server shutting down"

// goodbye is the task Stop queues on each event loop: it closes every
// connection on the loop with 1001, and those still in their upgrade without
// a word. It implements gnet.Runnable.
type goodbye struct {
	ls   *loopState
	done *sync.WaitGroup
	// keep is a cluster's drain: resumable sessions outlive their sockets,
	// for their clients to resume them on another node (docs/cluster.md).
	keep bool
}

func (g goodbye) Run(context.Context) error {
	ls := g.ls
	// Done runs last, once exit has written every close frame.
	defer g.done.Done()
	ls.enter()
	defer ls.exit()
	defer ls.srv.recoverLoop("saying goodbye")
	for _, c := range ls.conns {
		if g.keep {
			c.closeDropped(ws.StatusGoingAway, goodbyeReason)
		} else {
			c.close(ws.StatusGoingAway, goodbyeReason)
		}
	}
	if !g.keep {
		ls.sweepDetached(0, true) // detached sessions end: no grace past Stop
	}
	return nil
}

// drainPoll is how often Stop looks whether the last close frames are out.
const drainPoll = 10 * time.Millisecond

// sayGoodbye queues a goodbye on every event loop and waits until each has
// written its close frames, those of clients behind on reading included (at
// most closeGrace), and every client has closed its side (at most lingerTime
// more), or until ctx ends.
func (s *Server) sayGoodbye(ctx context.Context, keep bool) {
	var wg sync.WaitGroup
	s.loopsMu.Lock()
	for _, ls := range s.loops {
		wg.Add(1)
		if err := ls.el.Execute(context.Background(), goodbye{ls: ls, done: &wg, keep: keep}); err != nil {
			wg.Done() // the loop is already gone, and its connections with it
		}
	}
	s.loopsMu.Unlock()
	written := make(chan struct{})
	go func() {
		wg.Wait()
		close(written)
	}()
	select {
	case <-written:
	case <-ctx.Done():
		return
	}
	poll := time.NewTicker(drainPoll)
	defer poll.Stop()
	for s.ending() > 0 {
		select {
		case <-poll.C:
		case <-ctx.Done():
			return
		}
	}
}

// ending counts the draining and lingering connections on every loop.
func (s *Server) ending() int64 {
	return s.sumLoops(func(ls *loopState) int64 { return ls.endingCount.Load() })
}

// detachedSessions counts the sessions every loop keeps for a resume.
func (s *Server) detachedSessions() int64 {
	return s.sumLoops(func(ls *loopState) int64 { return ls.detachedCount.Load() })
}

// sumLoops adds count up over every loop.
func (s *Server) sumLoops(count func(*loopState) int64) int64 {
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	var n int64
	for _, ls := range s.loops {
		n += count(ls)
	}
	return n
}

// awaitHandovers waits, after a cluster's drain said goodbye, until every
// session kept is resumed elsewhere or its --resume-grace is over.
func (s *Server) awaitHandovers() {
	poll := time.NewTicker(drainPoll)
	defer poll.Stop()
	for s.detachedSessions() > 0 {
		<-poll.C
	}
}
