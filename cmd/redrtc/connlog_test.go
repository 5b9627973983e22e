package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	"github.com/redrtc/redrtc/internal/testkit"
)

// dialFrom connects a client whose end of the socket is on the loopback
// address from (127.0.0.3), so that the server's log can be checked for it.
func dialFrom(t *testing.T, addr, from string) *testkit.Client {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, a)
	}}}
	c, _, err := testkit.DialWith(t, wsURL(addr), &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	c.ID = c.ReadClientID()
	return c
}

// TestEachConnectionLogsAnOpenAndACloseLine: one info line when a client
// is admitted and one when its connection ends, with its id, its address,
// the close code and how long it stayed; never what it sent.
func TestEachConnectionLogsAnOpenAndACloseLine(t *testing.T) {
	t.Parallel()
	p, addr := serve(t, "-i", "127.0.0.1")
	polite := dialFrom(t, addr, "127.0.0.3")
	gone := dialFrom(t, addr, "127.0.0.4")
	stays := dialFrom(t, addr, "127.0.0.5")
	for _, c := range []*testkit.Client{polite, gone, stays} {
		c.Join("logged")
	}
	const secret = "SECRET-SDP-a=fingerprint"
	polite.SendRaw(`{"event":"offer","data":{"targetClientId":"` + gone.ID + `","offer":{"type":"offer","sdp":"v=0\r\n` + secret + `\r\n"}}}`)
	gone.Await("offer")
	gone.SendRaw(`{"event":"ice-candidate","data":{"targetClientId":"` + polite.ID + `","candidate":{"candidate":"candidate:1 1 udp 1 ` + secret + ` 9 typ host"}}}`)
	polite.Await("ice-candidate")

	if err := polite.Conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("close: %v", err)
	}
	_ = gone.Conn.CloseNow() // no close frame: the server logs 1006
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, healthIs(addr, 1, 1)))
	p.signal(syscall.SIGTERM) // stays gets 1001
	if code := p.wait(); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}

	stderr := p.stderr.String()
	if strings.Contains(stderr, secret) {
		t.Errorf("the log holds what a client sent:\n%s", stderr)
	}
	type line struct {
		Level, Client, Remote, Message string
		Code                           *int
		Seconds                        *float64
	}
	opened, closed := map[string]line{}, map[string]line{}
	for l := range strings.Lines(stderr) {
		var m line
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		switch m.Message {
		case "client connected":
			opened[m.Client] = m
		case "client disconnected":
			closed[m.Client] = m
		}
	}
	for _, tc := range []struct {
		c    *testkit.Client
		from string
		code int
	}{{polite, "127.0.0.3", 1000}, {gone, "127.0.0.4", 1006}, {stays, "127.0.0.5", 1001}} {
		o, ok := opened[tc.c.ID]
		if !ok || o.Level != "info" || !strings.HasPrefix(o.Remote, tc.from+":") {
			t.Errorf("client %s from %s: opened %+v, want an info line with its address", tc.c.ID, tc.from, o)
		}
		c, ok := closed[tc.c.ID]
		if !ok || c.Level != "info" || c.Remote != o.Remote || c.Code == nil || *c.Code != tc.code || c.Seconds == nil || *c.Seconds < 0 || *c.Seconds > waitTimeout.Seconds() {
			t.Errorf("client %s from %s: closed %+v, want an info line with its address, code %d and seconds", tc.c.ID, tc.from, c, tc.code)
		}
	}
	if len(opened) != 3 || len(closed) != 3 {
		t.Errorf("%d connected and %d disconnected lines, want 3 of each:\n%s", len(opened), len(closed), stderr)
	}
}

// TestRefusalsAreLoggedAtInfoLevelOnce: server-full and room-limit each
// get an info line at their first refusal; the refusals that follow within
// ten seconds are counted, not logged one by one.
func TestRefusalsAreLoggedAtInfoLevelOnce(t *testing.T) {
	t.Parallel()
	p, addr := serve(t, "-i", "127.0.0.1", "--clients", "2", "--rooms", "1")
	a := testkit.Dial(t, wsURL(addr))
	a.Join("the-only-room")
	b := testkit.Dial(t, wsURL(addr))
	for range 3 {
		b.Send("join-room", map[string]any{"roomId": "another-room"})
		b.ExpectError("room-limit", "join-room")
	}
	for range 5 {
		testkit.DialNoID(t, wsURL(addr)).ExpectClose(websocket.StatusTryAgainLater)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	for _, tc := range []struct{ message, limit string }{
		{"clients refused: the server is at --clients", `"clients":2`},
		{"new rooms refused: the server is at --rooms", `"rooms":1`},
	} {
		n := 0
		for l := range strings.Lines(p.stderr.String()) {
			if findLog(l, tc.message) != "" {
				n++
				if !strings.Contains(l, `"level":"info"`) || !strings.Contains(l, tc.limit) || !strings.Contains(l, `"refused":1`) {
					t.Errorf("refusal line %q, want info level, %s and refused 1", l, tc.limit)
				}
			}
		}
		if n != 1 {
			t.Errorf("%d %q lines, want 1:\n%s", n, tc.message, p.stderr.String())
		}
	}
}

// TestInterfaceMayBeAHostName: -i localhost listens on its IPv4 address.
func TestInterfaceMayBeAHostName(t *testing.T) {
	t.Parallel()
	p, addr := serve(t, "-i", "localhost")
	var listening struct {
		Addr string `json:"addr"`
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, logged(p, "listening")))
	if err := json.Unmarshal([]byte(findLog(p.stderr.String(), "listening")), &listening); err != nil || listening.Addr != addr {
		t.Errorf("listening on %q (%v), want %s", listening.Addr, err, addr)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
}
