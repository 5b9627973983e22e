package debugserve

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/redrtc/redrtc/internal/testkit"
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

// pollEvery is how often a test looks at the profiler's state.
const pollEvery = 10 * time.Millisecond

// cpuProfilerFree returns nil once no CPU profile is being taken.
func cpuProfilerFree() error {
	if cpuProfilerBusy() {
		return errors.New("a CPU profile is running")
	}
	return nil
}

// TestCloseEndsAProfileInFlight: a server shutting down must not wait out
// a CPU profile someone asked for with a long ?seconds=, and must leave the
// profiler free.
func TestCloseEndsAProfileInFlight(t *testing.T) {
	testkit.CheckFor(t, testkit.Timeout, pollEvery, cpuProfilerFree)
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
	testkit.CheckFor(t, testkit.Timeout, pollEvery, func() error {
		if !cpuProfilerBusy() {
			return errors.New("the 60 s CPU profile asked for has not started")
		}
		return nil
	})
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the profile in flight was still being served 10 s after Close")
	}
	testkit.CheckFor(t, testkit.Timeout, pollEvery, cpuProfilerFree)
	if _, err := http.Get(base); err == nil {
		t.Error("the listener still answers after Close")
	}
}

// TestForFlag: an empty --debug-addr serves nothing and turns allocation
// sampling off, and what it returns can be closed like a running listener;
// any other value is Start.
func TestForFlag(t *testing.T) {
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	t.Run("empty", func(t *testing.T) {
		runtime.MemProfileRate = 512 * 1024
		s, err := ForFlag("")
		if s != nil || err != nil {
			t.Fatalf("ForFlag(\"\") = %v, %v; want nil, nil", s, err)
		}
		if runtime.MemProfileRate != 0 {
			t.Errorf("MemProfileRate %d, want 0", runtime.MemProfileRate)
		}
		if s.Addr() != nil || s.Close() != nil {
			t.Errorf("Addr %v, Close %v; want nil, nil", s.Addr(), s.Close())
		}
	})
	t.Run("an address", func(t *testing.T) {
		runtime.MemProfileRate = 512 * 1024
		s, err := ForFlag("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get("http://" + s.Addr().String() + "/debug/pprof/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || runtime.MemProfileRate != 512*1024 {
			t.Errorf("status %d, MemProfileRate %d; want 200 and the rate left as it was", resp.StatusCode, runtime.MemProfileRate)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	t.Run("an address in use", func(t *testing.T) {
		held, err := Start("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		if s, err := ForFlag(held.Addr().String()); err == nil {
			_ = s.Close()
			t.Fatal("a second listener on the same address started")
		}
	})
}

// TestCheckAddr: what a --debug-addr may be, and the error naming the flag
// for what it may not.
func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		name, addr, err string
	}{
		{"left out", "", ""},
		{"loopback", "127.0.0.1:6060", ""},
		{"any free port", "127.0.0.1:0", ""},
		{"every interface", ":6060", ""},
		{"IPv6", "[::1]:0", ""},
		{"a host name", "localhost:6060", ""},
		{"no port", "6060", `--debug-addr must be HOST:PORT, e.g. 127.0.0.1:6060, got "6060"`},
		{"an empty port", "127.0.0.1:", `--debug-addr's port must be 0-65535 (0 for any free port), got ""`},
		{"a named port", "localhost:http", `--debug-addr's port must be 0-65535 (0 for any free port), got "http"`},
		{"a signed port", "127.0.0.1:+0", `--debug-addr's port must be 0-65535 (0 for any free port), got "+0"`},
		{"a port too high", "127.0.0.1:65536", `--debug-addr's port must be 0-65535 (0 for any free port), got "65536"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckAddr(tc.addr)
			if got := fmt.Sprint(err); (err == nil) != (tc.err == "") || (err != nil && got != tc.err) {
				t.Errorf("CheckAddr(%q) = %v, want %q", tc.addr, err, tc.err)
			}
		})
	}
}
