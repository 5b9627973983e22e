package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/redrtc/redrtc/internal/testkit"
)

// apiError is the body of every error the admin listener answers.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// TestAdminAPIEndpointsAndErrors walks every endpoint of the admin API,
// with its errors, on a server holding a few clients.
func TestAdminAPIEndpointsAndErrors(t *testing.T) {
	t.Parallel()
	s := serveAdmin(t, "t0k3n")
	url := wsURL(s.addr)
	a, b, c, d := testkit.Dial(t, url), testkit.Dial(t, url), testkit.Dial(t, url), testkit.Dial(t, url)
	a.Join("room-b")
	b.Join("room-b")
	a.Expect("participants")
	c.Join("room-a")
	d.Join("room-c")
	a.Send("offer", map[string]any{"targetClientId": b.ID, "offer": map[string]string{"type": "offer", "sdp": "v=0"}})
	b.Expect("offer")

	t.Run("token", func(t *testing.T) {
		for _, tc := range []struct{ token, why string }{{"", "no token"}, {"wrong", "a wrong token"}, {"T0K3N", "the token in other case"}} {
			for _, path := range []string{"/v1/stats", "/debug/pprof/"} {
				status, body, err := adminRequest("GET", "http://"+s.admin+path, tc.token)
				if err != nil {
					t.Fatal(err)
				}
				var e apiError
				if status != http.StatusUnauthorized || json.Unmarshal(body, &e) != nil || e.Error != "unauthorized" {
					t.Errorf("GET %s with %s: %d %s, want 401 and a JSON error", path, tc.why, status, body)
				}
			}
		}
		// What load balancers and Prometheus read needs no token.
		for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
			if status, body, err := adminRequest("GET", "http://"+s.admin+path, ""); err != nil || status != http.StatusOK {
				t.Errorf("GET %s without a token: %d %s %v, want 200", path, status, body, err)
			}
		}
		s.must(t, "GET", "/debug/pprof/", http.StatusOK)
	})

	t.Run("stats", func(t *testing.T) {
		var st struct {
			Clients, Rooms, ClientLimit int
			MessagesRelayed             uint64
			Draining                    bool
			Version                     string
		}
		decodeJSON(t, s.must(t, "GET", "/v1/stats", http.StatusOK), &st)
		if st.Clients != 4 || st.Rooms != 3 || st.ClientLimit != 1024 || st.MessagesRelayed != 1 || st.Draining || st.Version == "" {
			t.Errorf("stats %+v, want 4 clients, 3 rooms, limit 1024, 1 relayed, not draining, a version", st)
		}
	})

	t.Run("rooms paged", func(t *testing.T) {
		type page struct {
			Rooms []struct {
				ID      string   `json:"id"`
				Members []string `json:"members"`
			} `json:"rooms"`
			NextCursor string `json:"nextCursor"`
		}
		var p1, p2 page
		decodeJSON(t, s.must(t, "GET", "/v1/rooms?limit=2", http.StatusOK), &p1)
		if len(p1.Rooms) != 2 || p1.Rooms[0].ID != "room-a" || p1.Rooms[1].ID != "room-b" || p1.NextCursor == "" {
			t.Fatalf("first page %+v, want room-a and room-b and a cursor", p1)
		}
		decodeJSON(t, s.must(t, "GET", "/v1/rooms?limit=2&cursor="+p1.NextCursor, http.StatusOK), &p2)
		if len(p2.Rooms) != 1 || p2.Rooms[0].ID != "room-c" || p2.NextCursor != "" {
			t.Fatalf("second page %+v, want room-c alone and no cursor", p2)
		}
	})

	t.Run("room", func(t *testing.T) {
		var r struct {
			ID              string          `json:"id"`
			Name            json.RawMessage `json:"name"`
			CreatedAt       time.Time       `json:"createdAt"`
			Members         []string        `json:"members"`
			MessagesRelayed uint64          `json:"messagesRelayed"`
		}
		decodeJSON(t, s.must(t, "GET", "/v1/rooms/room-b", http.StatusOK), &r)
		if r.ID != "room-b" || string(r.Name) != `"room-b"` || !slices.Equal(r.Members, []string{a.ID, b.ID}) ||
			r.MessagesRelayed != 1 || time.Since(r.CreatedAt) > time.Minute || time.Since(r.CreatedAt) < 0 {
			t.Errorf("room %+v (name %s), want room-b with a and b, 1 relayed, created just now", r, r.Name)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			status       int
			code         string
		}{
			{"GET", "/v1/rooms/no-such-room", 404, "no-such-room"},
			{"DELETE", "/v1/rooms/no-such-room", 404, "no-such-room"},
			{"DELETE", "/v1/clients/not-an-id", 404, "no-such-client"},
			{"DELETE", "/v1/clients/6f1d3c2a-58b4-4f7e-9a0b-1c2d3e4f5a6b", 404, "no-such-client"},
			{"GET", "/v1/rooms?limit=0", 400, "bad-limit"},
			{"GET", "/v1/rooms?limit=1001", 400, "bad-limit"},
			{"GET", "/v1/rooms?limit=ten", 400, "bad-limit"},
			{"GET", "/v1/rooms?cursor=%21%21", 400, "bad-cursor"},
			{"PUT", "/v1/stats", 405, "method-not-allowed"},
			{"GET", "/v1/drain", 405, "method-not-allowed"},
			{"GET", "/v1/no-such-endpoint", 404, "not-found"},
			{"GET", "/no-such-endpoint", 404, "not-found"},
		} {
			status, body, err := s.request(tc.method, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			var e apiError
			if status != tc.status || json.Unmarshal(body, &e) != nil || e.Error != tc.code || e.Message == "" {
				t.Errorf("%s %s: %d %s, want %d with error %q and a message", tc.method, tc.path, status, body, tc.status, tc.code)
			}
		}
	})

	t.Run("kick and close a room", func(t *testing.T) {
		s.must(t, "DELETE", "/v1/clients/"+d.ID, http.StatusNoContent)
		d.ExpectClose(loopStatusKicked)
		s.must(t, "DELETE", "/v1/rooms/room-a", http.StatusNoContent)
		if ev := c.Expect("error"); ev.Str(t, "code") != "room-closed" {
			t.Fatalf("error %s, want room-closed", ev.Data)
		}
		c.Expect("room-left")
		c.StillServed()
		testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
			status, _, err := s.request("GET", "/v1/rooms/room-c")
			if err == nil && status != http.StatusNotFound {
				return fmt.Errorf("room-c still listed (%d) after its only member was kicked", status)
			}
			return err
		})
		s.must(t, "GET", "/v1/rooms/room-a", http.StatusNotFound)
	})
}

// TestReadyzWhileServingAndDraining drains a server through the API: /readyz
// turns 503, clients get the shutdown close once their queues are written,
// no new client gets in, and the process exits 0 when the last is gone.
func TestReadyzWhileServingAndDraining(t *testing.T) {
	t.Parallel()
	s := serveAdmin(t, "")
	url := wsURL(s.addr)
	reader, idle := testkit.Dial(t, url), testkit.Dial(t, url)
	reader.Join("r")
	idle.Join("r")
	reader.Expect("participants")
	// idle reads nothing from here: the drain waits for it to close its side.
	reader.Send("offer", map[string]any{"targetClientId": idle.ID, "offer": map[string]string{"type": "offer", "sdp": "v=0"}})
	reader.StillServed() // the offer is queued for idle

	var ready struct{ Status string }
	decodeJSON(t, s.must(t, "GET", "/readyz", http.StatusOK), &ready)
	if ready.Status != "ready" {
		t.Fatalf("/readyz says %q while serving", ready.Status)
	}
	s.must(t, "POST", "/v1/drain", http.StatusAccepted)
	decodeJSON(t, s.must(t, "GET", "/readyz", http.StatusServiceUnavailable), &ready)
	if ready.Status != "draining" {
		t.Fatalf("/readyz says %q while draining", ready.Status)
	}
	s.must(t, "POST", "/v1/drain", http.StatusAccepted) // twice is harmless
	if _, _, err := testkit.DialWith(t, url, nil); err == nil {
		t.Error("a new client got in while draining")
	}
	reader.ExpectClose(websocket.StatusGoingAway)
	// The offer queued before the drain arrives before the close.
	idle.Expect("offer")
	idle.ExpectClose(websocket.StatusGoingAway)
	if code := s.wait(); code != 0 {
		t.Fatalf("exit %d after draining, want 0", code)
	}
	if findLog(s.stderr.String(), "drained: every client is gone; shutting down") == "" {
		t.Errorf("no log line says the drain ended:\n%s", s.stderr.String())
	}
}

// TestAdminAddrNeedsATokenOffLoopback: an admin listener on a public address
// without a token is a bad command line; with one, or on loopback, it starts.
func TestAdminAddrNeedsATokenOffLoopback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--admin-addr", "0.0.0.0:0"}, "not a loopback address: set --admin-token"},
		{[]string{"--admin-addr", ":9090"}, "not a loopback address: set --admin-token"},
		{[]string{"--admin-addr", "9090"}, "--admin-addr must be HOST:PORT"},
		{[]string{"--admin-addr", "127.0.0.1:http"}, "--admin-addr must be HOST:PORT"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("redrtc %s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), code, stderr, tc.stderr)
		}
	}
	// localhost is loopback: no token needed.
	aport := freePort(t)
	p := startBinary(t, "-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t)), "--admin-addr", "localhost:"+strconv.Itoa(aport))
	s := &adminServer{proc: p, admin: net.JoinHostPort("127.0.0.1", strconv.Itoa(aport))}
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, s.statusIs("/readyz", http.StatusOK)))
}
