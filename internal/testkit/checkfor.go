package testkit

import (
	"errors"
	"testing"
	"time"
)

// Timeout bounds every wait in RedRTC's tests: nothing in them sleeps in
// place of synchronisation, and a wait that runs out is a failure.
const Timeout = 10 * time.Second

// CheckFor calls check every sleep until it returns nil, and fails t with
// check's last error if that has not happened within totalWait: that error,
// not only the fact of a timeout, is what a reader of the failure needs, so a
// check should say what it saw. A check that returns an error made by GiveUp
// ends the wait at once, with that error.
func CheckFor(t testing.TB, totalWait, sleep time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(totalWait)
	for {
		err := check()
		var final givenUp
		switch {
		case err == nil:
			return
		case errors.As(err, &final):
			t.Fatal(err)
			return
		case !time.Now().Before(deadline):
			t.Fatalf("still after %v: %v", totalWait, err)
			return
		}
		time.Sleep(sleep)
	}
}

// GiveUp marks err as final: a check returns it when waiting longer cannot
// help, for example once the process it waits on has exited.
func GiveUp(err error) error { return givenUp{err} }

type givenUp struct{ err error }

func (g givenUp) Error() string { return g.err.Error() }
func (g givenUp) Unwrap() error { return g.err }
