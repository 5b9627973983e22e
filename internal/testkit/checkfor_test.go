package testkit

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a testing.TB that notes a fatal failure instead of ending the
// test, so that what CheckFor reports can itself be checked.
type recorder struct {
	testing.TB
	failure string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatal(args ...any)                 { r.failure = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.failure = fmt.Sprintf(format, args...) }

func TestCheckForReturnsOnceTheCheckHolds(t *testing.T) {
	r := &recorder{TB: t}
	calls := 0
	CheckFor(r, Timeout, time.Millisecond, func() error {
		if calls++; calls < 3 {
			return fmt.Errorf("call %d", calls)
		}
		return nil
	})
	if r.failure != "" || calls != 3 {
		t.Fatalf("failure %q after %d calls, want none after 3", r.failure, calls)
	}
}

func TestCheckForReportsTheLastError(t *testing.T) {
	r := &recorder{TB: t}
	calls := 0
	CheckFor(r, 20*time.Millisecond, time.Millisecond, func() error {
		calls++
		return fmt.Errorf("saw %d", calls)
	})
	if want := fmt.Sprintf("still after 20ms: saw %d", calls); r.failure != want {
		t.Fatalf("failure %q, want %q", r.failure, want)
	}
}

func TestCheckForStopsAtAnErrorGivenUpOn(t *testing.T) {
	r := &recorder{TB: t}
	calls := 0
	start := time.Now()
	CheckFor(r, time.Hour, time.Millisecond, func() error {
		calls++
		return fmt.Errorf("waiting on the server: %w", GiveUp(errors.New("it exited")))
	})
	if calls != 1 || !strings.HasSuffix(r.failure, "it exited") || time.Since(start) > Timeout {
		t.Fatalf("%d calls, failure %q, want 1 call and the error given up on", calls, r.failure)
	}
}

func TestLockedBufferTakesConcurrentWrites(t *testing.T) {
	var b LockedBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("ab"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("ab", 800) {
		t.Fatalf("%d bytes, want 1600 of \"ab\" pairs", len(got))
	}
}
