package debugserve

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCloseEndsAProfileInFlight: a server shutting down must not wait out
// a CPU profile someone asked for with a long ?seconds=.
func TestCloseEndsAProfileInFlight(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr().String() + "/debug/pprof/"
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(base + "profile?seconds=60")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	// A second CPU profile is refused while the first runs: that is how
	// the test knows the first is in flight.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "profile?seconds=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && strings.Contains(string(body), "already in use") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 60 s profile never showed as running: %s %q", resp.Status, body)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the profile in flight was still running 10 s after Close")
	}
	if _, err := http.Get(base); err == nil {
		t.Error("the listener still answers after Close")
	}
}
