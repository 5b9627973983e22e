package loop

import "testing"

func TestSmoke(t *testing.T) {
	srv := startServer(t, Config{})
	a := dial(t, srv)
	b := dial(t, srv)
	a.join("r1")
	b.join("r1")
	a.expect("participants")
	a.send("offer", map[string]any{"targetClientId": b.id, "offer": map[string]any{"sdp": "x"}})
	ev := b.expect("offer")
	if ev.str(t, "fromClientId") != a.id {
		t.Fatal(string(ev.Data))
	}
}
