package loop

import "testing"

// TestAnUndeliveredRelayIsNotTimed: a sampled relay that could not be
// delivered takes its sample back; left on the target's loop, it would time
// that loop's next write, however much later, as a relay.
func TestAnUndeliveredRelayIsNotTimed(t *testing.T) {
	srv := startServer(t, Config{Rate: -1})
	a, b := dial(t, srv), dial(t, srv)
	a.Join("room-a")
	b.Join("room-b")
	for range 2 * relaySampleEvery {
		a.Send("offer", map[string]any{"targetClientId": b.ID, "offer": "x"})
		a.ExpectError("target-not-found", "offer")
	}
	b.Send("ping", map[string]any{})
	b.Expect("pong")
	if h := srv.Metrics().RelayTime; h.Count != 0 {
		t.Fatalf("no relay was delivered, yet %d were timed (%.6f s)", h.Count, h.Sum)
	}
}
