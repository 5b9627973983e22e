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
// idle P is what tells sysmon to leave a loop's P alone. It is kept because
// it removes the slow runs of relay at a steady rate, not because the typical
// run is cheaper: it costs connection churn, and a thread woken by gnet's
// runtime.Gosched to spin on it. docs/performance.md ("The spare scheduler
// P") has the measurements and how to repeat them.
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
