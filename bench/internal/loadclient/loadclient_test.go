package loadclient

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRelayFields(t *testing.T) {
	id := "0b7c2c56-8f3a-4e8e-9d1c-3f2a1b0c9d8e"
	fast := []byte(`{"event":"offer","data":{"fromClientId":"` + id + `","offer":{"type":"offer","seq":42,"ts":1700000000123456789,"sdp":"v=0"}}}`)
	from, seq, ts, ok := relayFields(fast)
	if !ok || string(from) != id || seq != 42 || ts != 1700000000123456789 {
		t.Fatalf("fast path: %q %d %d %v", from, seq, ts, ok)
	}
	// Another server may lay the JSON out differently.
	slow := []byte(`{ "data" : { "candidate" : { "ts" : 7, "candidate": "x", "seq" : 3 }, "fromClientId" : "` + id + `" }, "event" : "ice-candidate" }`)
	from, seq, ts, ok = relayFields(slow)
	if !ok || string(from) != id || seq != 3 || ts != 7 {
		t.Fatalf("fallback: %q %d %d %v", from, seq, ts, ok)
	}
	if _, _, _, ok := relayFields([]byte(`{"event":"offer","data":{}}`)); ok {
		t.Fatal("accepted a relay without sender")
	}
	name, ok := eventName(fast)
	if !ok || name != "offer" {
		t.Fatalf("eventName: %q %v", name, ok)
	}
	if _, ok := eventName([]byte(`{"event":"participants","data":{}}`)); ok {
		t.Fatal("participants took the relay fast path")
	}
}

func TestTemplates(t *testing.T) {
	tm := newTemplates(3000, 250)
	if n := len(tm.sdp); n < 2900 || n > 3000 {
		t.Fatalf("SDP is %d bytes, want about 3000", n)
	}
	id := "0b7c2c56-8f3a-4e8e-9d1c-3f2a1b0c9d8e"
	for k, tp := range tm.kinds {
		msg := tp.pre + id + tp.mid + "12" + `,"ts":` + "1700000000123456789" + tp.post
		var v struct {
			Event string                     `json:"event"`
			Data  map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal([]byte(msg), &v); err != nil {
			t.Fatalf("kind %d is not JSON: %v\n%s", k, err, msg)
		}
		if v.Event != tp.event {
			t.Fatalf("kind %d: event %q", k, v.Event)
		}
		if k == kindCandidate && (len(msg) < 230 || len(msg) > 270) {
			t.Fatalf("candidate message is %d bytes, want about 250", len(msg))
		}
	}
}

// TestFixedRateLatencyCountsFromWhenAMessageWasDue: at 1,000 msgs/s message
// 9 falls due 10 ms after the start; its latency is counted from then (plus
// the poller's 1 ms tick), however late it really went out.
func TestFixedRateLatencyCountsFromWhenAMessageWasDue(t *testing.T) {
	const ms = int64(time.Millisecond)
	start := 1000 * ms
	for _, tc := range []struct {
		name      string
		now, seq  int64
		rate      float64
		wantStamp int64
	}{
		{"sent as it fell due", start + 10*ms, 9, 1000, start + 10*ms},
		{"sent within the loop's tick", start + 10*ms + ms/2, 9, 1000, start + 10*ms + ms/2},
		{"held back 40 ms", start + 50*ms, 9, 1000, start + 11*ms},
		{"as fast as possible: the time sent", start + 50*ms, 9, 0, start + 50*ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sentStamp(tc.now, start, tc.seq, tc.rate); got != tc.wantStamp {
				t.Fatalf("stamp %d ms after the start, want %d", (got-start)/ms, (tc.wantStamp-start)/ms)
			}
		})
	}
}
