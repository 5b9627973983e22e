package debugserve

import (
	"io"
	"net/http"
	"runtime/pprof"
	"testing"
	"time"
)

// cpuProfilerBusy reports whether a CPU profile is being taken in this
// process, by trying to start one.
func cpuProfilerBusy() bool {
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		return true
	}
	pprof.StopCPUProfile()
	return false
}

// waitFor polls cond every 10 ms for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, still not: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseEndsAProfileInFlight: a server shutting down must not wait out
// a CPU profile someone asked for with a long ?seconds=, and must leave the
// profiler free.
func TestCloseEndsAProfileInFlight(t *testing.T) {
	waitFor(t, "no CPU profile running before the test", func() bool { return !cpuProfilerBusy() })
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr().String() + "/debug/pprof/"
	done := make(chan error, 1)
	go func() {
		// Refused at once, with 500, if the test's own probe held the
		// profiler at that moment: then it asks again.
		for range 100 {
			resp, err := http.Get(base + "profile?seconds=60")
			if err != nil {
				done <- err
				return
			}
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusInternalServerError {
				done <- err
				return
			}
		}
		done <- nil
	}()
	waitFor(t, "the 60 s CPU profile is running", cpuProfilerBusy)
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the profile in flight was still being served 10 s after Close")
	}
	waitFor(t, "the CPU profiler is free after Close", func() bool { return !cpuProfilerBusy() })
	if _, err := http.Get(base); err == nil {
		t.Error("the listener still answers after Close")
	}
}
