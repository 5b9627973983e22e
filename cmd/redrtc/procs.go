package main

import (
	"runtime"
	"strconv"

	"github.com/redrtc/redrtc/loop"
)

// reserveSpareProc runs the event loops with one scheduler P more than there
// are loops, unless a GOMAXPROCS the runtime obeys is set in the
// environment, which then decides both counts as before.
//
// Each event loop blocks in epoll_wait while it holds a P. With as many Ps as
// loops, every P is then in a syscall with none idle, so the runtime's sysmon
// takes them back and starts spinning threads that find nothing to run. An
// idle P is what tells sysmon to leave a loop's P alone. On a 2-core VM, in
// eleven runs at a steady 10,000 msgs/s, the spare P took server CPU per
// relayed message from 21.5–40.8 µs (mean 28.6) to 22.8–27.8 µs (mean 24.9)
// and full-speed relay from a mean of 14.7 to 13.7 µs. Connection churn pays
// for it, 93–116 µs of CPU a session against 80–101: the acceptor that
// EnrollContext parks is woken onto the idle P, twice the context switches
// (docs/performance.md). The idle P has a cost at a steady rate too:
// gnet's poller calls runtime.Gosched each time a loop runs out of events,
// and with a P idle that wakes a thread to spin on it, about one wake-up for
// every three messages at 10,000 msgs/s. Without the spare P most runs are
// cheaper (median 22.6 µs against 27.8 in a later A/B) but some fall into
// the slow mode (32 and 44 µs of eight), which the spare P never did.
//
// Setting GOMAXPROCS stops the runtime from following a container's CPU
// limit as it changes (Go 1.25 and later); the loop count is fixed at start
// anyway.
func reserveSpareProc(cfg *loop.Config, getenv func(string) string) {
	if runtimeObeys(getenv("GOMAXPROCS")) {
		return
	}
	if cfg.EventLoops == 0 {
		cfg.EventLoops = defaultProcs
	}
	runtime.GOMAXPROCS(cfg.EventLoops + 1)
}

// runtimeObeys reports whether the runtime took its P count from this
// GOMAXPROCS value. It ignores one that is not a positive base-10 int32
// ("abc", "0", "0x4"), and so must we, or such a value would cost the
// server its spare P while changing nothing else. The test is the
// runtime's own (schedinit in runtime/proc.go).
func runtimeObeys(gomaxprocs string) bool {
	n, err := strconv.ParseInt(gomaxprocs, 10, 32)
	return err == nil && n > 0
}

// defaultProcs is the runtime's own GOMAXPROCS, read before anything changes
// it, so that running the server twice in one process (as tests may) does
// not add a P each time.
var defaultProcs = runtime.GOMAXPROCS(0)
