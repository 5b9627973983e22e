package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	"github.com/redrtc/redrtc/internal/testkit"
)

// smallReceiveBuffer dials with a 4 KiB socket receive buffer, which turns
// the kernel's autotuning off: a client that stops reading then holds back
// the server's writes after a few KiB rather than tens of MiB.
var smallReceiveBuffer = &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{
	DialContext: (&net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}).DialContext,
}}}

// TestMetricsCountAScriptedSession runs a session with every kind of event
// the metrics count, then checks the scrape's exact values.
func TestMetricsCountAScriptedSession(t *testing.T) {
	t.Parallel()
	s := serveAdmin(t, "secret", "--rate", "3000", "--burst", "3000", "--rate-kick", "1", "--max-outbound", "65536")
	url := wsURL(s.addr)

	// A plain HTTP request on the client port: refused, not a WebSocket.
	resp, err := http.Get("http://" + s.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("GET / on the client port: %d, want 426", resp.StatusCode)
	}

	// a and b negotiate in r1: an offer, its answer, two candidates.
	a, b := testkit.Dial(t, url), testkit.Dial(t, url)
	a.Join("r1")
	b.Join("r1")
	a.Expect("participants")
	a.Send("offer", map[string]any{"targetClientId": b.ID, "offer": map[string]string{"type": "offer", "sdp": "v=0"}})
	b.Expect("offer")
	b.Send("answer", map[string]any{"targetClientId": a.ID, "answer": map[string]string{"type": "answer", "sdp": "v=0"}})
	a.Expect("answer")
	// Enough candidates for the relay time's sampling (1 in 64 per loop).
	const candidates = 130
	for range candidates {
		a.Send("ice-candidate", map[string]any{"targetClientId": b.ID, "candidate": map[string]string{"candidate": "candidate:1"}})
		b.Expect("ice-candidate")
	}
	// An error: an event the server does not know.
	a.SendRaw(`{"event":"no-such-event","data":{}}`)
	if ev := a.Expect("error"); ev.Str(t, "code") != "unknown-event" {
		t.Fatalf("error %s, want unknown-event", ev.Data)
	}

	// A slow consumer: slow stops reading while flood sends it offers.
	slowC, _, err := testkit.DialWith(t, url, smallReceiveBuffer)
	if err != nil {
		t.Fatal(err)
	}
	slowC.ID = slowC.ReadClientID()
	slowC.Join("r2")
	flood := testkit.Dial(t, url)
	flood.Join("r2")
	slowC.Expect("participants")
	offers, floodPings, notFound := floodUntilGone(t, flood, slowC.ID)

	// A rate kick: k pings far over --rate until it is closed.
	pongs, rateErrors, kickCode := pingUntilKicked(t, testkit.Dial(t, url))
	if kickCode != websocket.StatusPolicyViolation {
		t.Fatalf("the pinging client was closed with %v, want 1008", kickCode)
	}

	// A kick through the API.
	x := testkit.Dial(t, url)
	x.Join("r3")
	s.must(t, "DELETE", "/v1/clients/"+x.ID, http.StatusNoContent)
	x.ExpectClose(loopStatusKicked)

	// A room closed through the API: both members are told and stay.
	s.must(t, "DELETE", "/v1/rooms/r1", http.StatusNoContent)
	for _, c := range []*testkit.Client{a, b} {
		if ev := c.Await("error"); ev.Str(t, "code") != "room-closed" {
			t.Fatalf("error %s, want room-closed", ev.Data)
		}
		c.Await("room-left")
		c.StillServed()
	}

	wants := []want{
		{"redrtc_clients", "", "", 3}, // a, b and flood
		{"redrtc_rooms", "", "", 1},   // r2, flood alone
		{"redrtc_clients_limit", "", "", 1024},
		{"redrtc_connections_accepted_total", "", "", 7},
		{"redrtc_upgrades_refused_total", "reason", "not_websocket", 1},
		{"redrtc_upgrades_refused_total", "reason", "origin", 0},
		{"redrtc_upgrades_refused_total", "reason", "server_full", 0},
		{"redrtc_messages_received_total", "event", "join-room", 5},
		{"redrtc_messages_received_total", "event", "offer", float64(1 + offers)},
		{"redrtc_messages_received_total", "event", "answer", 1},
		{"redrtc_messages_received_total", "event", "ice-candidate", candidates},
		{"redrtc_messages_received_total", "event", "invalid", 1},
		{"redrtc_messages_received_total", "event", "ping", float64(pongs + floodPings + 2)}, // 2: StillServed
		{"redrtc_messages_relayed_total", "event", "offer", float64(1 + offers - notFound)},
		{"redrtc_messages_relayed_total", "event", "answer", 1},
		{"redrtc_messages_relayed_total", "event", "ice-candidate", candidates},
		{"redrtc_error_events_total", "code", "unknown-event", 1},
		{"redrtc_error_events_total", "code", "target-not-found", float64(notFound)},
		{"redrtc_error_events_total", "code", "rate-limited", float64(rateErrors)},
		{"redrtc_error_events_total", "code", "room-closed", 2},
		{"redrtc_error_events_total", "code", "bad-json", 0},
		{"redrtc_connections_closed_total", "code", "1008", 2}, // the rate kick and the slow consumer
		{"redrtc_connections_closed_total", "code", "4000", 1}, // the API's kick
		{"redrtc_connections_closed_total", "code", "none", 1}, // the plain HTTP request
		{"redrtc_connections_closed_total", "code", "1001", 0},
		{"redrtc_rate_kicks_total", "", "", 1},
		{"redrtc_slow_consumer_closes_total", "", "", 1},
		{"redrtc_join_timeouts_total", "", "", 0},
		{"redrtc_idle_timeouts_total", "", "", 0},
		{"redrtc_room_size_at_join", "", "", 5},
		{"redrtc_offer_answer_seconds", "", "", 1},
		{"redrtc_draining", "", "", 0},
		{"redrtc_build_info", "goversion", goVersionForTest(t), 1},
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, metricsAre(s.admin, wants))

	fams, err := scrape(s.admin)
	if err != nil {
		t.Fatal(err)
	}
	m := series(fams)
	if got := m.value("redrtc_rate_limited_messages_total", "", ""); got < 1 {
		t.Errorf("redrtc_rate_limited_messages_total = %v after a rate kick", got)
	}
	if got := m.value("redrtc_relay_latency_seconds", "", ""); got < 1 {
		t.Errorf("redrtc_relay_latency_seconds has %v samples after %d relays", got, candidates+offers)
	}
	h := fams["redrtc_room_size_at_join"].GetMetric()[0].GetHistogram()
	if h.GetSampleSum() != 7 { // 1+2 in r1, 1+2 in r2, 1 in r3
		t.Errorf("room sizes at join sum to %v, want 7", h.GetSampleSum())
	}
	for _, name := range []string{"go_goroutines", "process_open_fds", "process_max_fds", "process_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("%s missing from the scrape", name)
		}
	}
	for name, f := range fams {
		for _, mm := range f.GetMetric() {
			for _, l := range mm.GetLabel() {
				if strings.Contains(l.GetValue(), a.ID) || l.GetValue() == "r1" {
					t.Errorf("%s has a label with a client or room id: %s", name, l)
				}
			}
		}
	}
}

// loopStatusKicked is loop.StatusKicked, as coder/websocket names codes.
const loopStatusKicked websocket.StatusCode = 4000

func goVersionForTest(t *testing.T) string {
	t.Helper()
	return goVersion()
}

// floodUntilGone sends 60 KB offers from flood to target, which does not
// read, until the server closes target as a slow consumer and flood is
// told target-not-found. It returns the offers and pings sent and the
// target-not-found errors flood got. flood is read by a goroutine of its
// own from then on.
func floodUntilGone(t *testing.T, flood *testkit.Client, target string) (offers, pings, notFound int) {
	t.Helper()
	var gone, pongs atomic.Int64
	failed := make(chan error, 1)
	go func() {
		for {
			ev, err := flood.Read()
			if err != nil {
				failed <- err
				return
			}
			switch {
			case ev.Event == "pong":
				pongs.Add(1)
			case ev.Event == "error" && strings.Contains(string(ev.Data), "target-not-found"):
				gone.Add(1)
			case ev.Event == "error":
				failed <- fmt.Errorf("flood got %s", ev.Data)
				return
			}
		}
	}()
	ping := func() {
		flood.Send("ping", map[string]any{})
		pings++
	}
	sdp := strings.Repeat("a", 60<<10)
	const most = 190 // 15 shares of --rate each: within a --burst of 3000
	for offers = 0; offers < most && gone.Load() == 0; offers++ {
		select {
		case err := <-failed:
			t.Fatalf("flood's reader: %v", err)
		default:
		}
		flood.Send("offer", map[string]any{"targetClientId": target, "offer": map[string]string{"type": "offer", "sdp": sdp}})
		if offers%10 == 9 {
			ping()
		}
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
		if gone.Load() == 0 {
			return fmt.Errorf("the slow client is still served after %d offers of 60 KB", offers)
		}
		return nil
	})
	// Once the pong of a last ping is back, every offer has been answered.
	ping()
	testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
		if n := pongs.Load(); n != int64(pings) {
			return fmt.Errorf("%d pongs of %d pings", n, pings)
		}
		return nil
	})
	return offers, pings, int(gone.Load())
}

// pingUntilKicked sends pings from k, as fast as it can, until the server
// closes it; it returns the pongs and rate-limited errors k read, and the
// close code.
func pingUntilKicked(t *testing.T, k *testkit.Client) (pongs, rateErrors int, code websocket.StatusCode) {
	t.Helper()
	var wg sync.WaitGroup
	closed := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(closed)
		for {
			ev, err := k.Read()
			if err != nil {
				code = websocket.CloseStatus(err)
				return
			}
			switch ev.Event {
			case "pong":
				pongs++
			case "error":
				rateErrors++
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ping := []byte(`{"event":"ping","data":{}}`)
	for sent := 0; sent < 1_000_000; sent++ {
		if k.Conn.Write(ctx, websocket.MessageText, ping) != nil {
			break
		}
		select {
		case <-closed:
			sent = 1_000_000
		default:
		}
	}
	wg.Wait()
	return pongs, rateErrors, code
}
