package loop

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redrtc/redrtc/internal/testkit"
)

func TestClientIDIsFirstMessageAndUnique(t *testing.T) {
	srv := startServer(t, Config{})
	seen := map[string]bool{}
	for range 20 {
		c := dial(t, srv)
		if seen[c.id] {
			t.Fatalf("client id %s handed out twice", c.id)
		}
		seen[c.id] = true
		if c.id[14] != '4' {
			t.Fatalf("client id %s is not a version-4 UUID", c.id)
		}
	}
}

func TestJoinRoom(t *testing.T) {
	srv := startServer(t, Config{})
	a := dial(t, srv)
	b := dial(t, srv)

	t.Run("creator gets room-created, room-joined, participants", func(t *testing.T) {
		a.send("join-room", map[string]any{"roomId": "lobby", "roomName": "The Lobby"})
		created := a.expect("room-created")
		if created.str(t, "roomId") != "lobby" || created.str(t, "roomName") != "The Lobby" {
			t.Fatalf("room-created %s", created.Data)
		}
		joined := a.expect("room-joined")
		if got := joined.list(t, "participants"); !slices.Equal(got, []string{a.id}) {
			t.Fatalf("room-joined participants %v", got)
		}
		p := a.expect("participants")
		if p.str(t, "roomId") != "lobby" || !slices.Equal(p.list(t, "participants"), []string{a.id}) {
			t.Fatalf("participants %s", p.Data)
		}
	})
	t.Run("second member gets room-joined with the creator's name, all get participants in join order", func(t *testing.T) {
		b.send("join-room", map[string]any{"roomId": "lobby", "roomName": "ignored"})
		joined := b.expect("room-joined")
		if joined.str(t, "roomName") != "The Lobby" {
			t.Fatalf("room name %q, want the creator's", joined.str(t, "roomName"))
		}
		want := []string{a.id, b.id}
		if got := joined.list(t, "participants"); !slices.Equal(got, want) {
			t.Fatalf("room-joined participants %v, want %v", got, want)
		}
		for _, c := range []*client{b, a} {
			if got := c.expect("participants").list(t, "participants"); !slices.Equal(got, want) {
				t.Fatalf("participants %v, want %v", got, want)
			}
		}
	})
	t.Run("join without roomId creates a fresh room named after its id", func(t *testing.T) {
		c := dial(t, srv)
		c.send("join-room", map[string]any{})
		created := c.expect("room-created")
		id := created.str(t, "roomId")
		if len(id) != 36 || created.str(t, "roomName") != id {
			t.Fatalf("room-created %s", created.Data)
		}
		c.expect("room-joined")
		c.expect("participants")
	})
	t.Run("joining the room you are in moves you to the end; room-mates see you leave and come back", func(t *testing.T) {
		a.send("join-room", map[string]any{"roomId": "lobby", "roomName": "ignored"})
		joined := a.expect("room-joined")
		if joined.str(t, "roomName") != "The Lobby" || !slices.Equal(joined.list(t, "participants"), []string{b.id, a.id}) {
			t.Fatalf("room-joined %s, want The Lobby with b then a", joined.Data)
		}
		a.expect("participants")
		for _, want := range [][]string{{b.id}, {b.id, a.id}} {
			if got := b.expect("participants").list(t, "participants"); !slices.Equal(got, want) {
				t.Fatalf("b saw participants %v, want %v", got, want)
			}
		}
	})
	t.Run("joining the room you are alone in keeps it: no room-created, same name", func(t *testing.T) {
		c := dial(t, srv)
		c.send("join-room", map[string]any{"roomId": "solo", "roomName": "first"})
		c.expect("room-created")
		c.expect("room-joined")
		c.expect("participants")
		c.send("join-room", map[string]any{"roomId": "solo", "roomName": "second"})
		if joined := c.expect("room-joined"); joined.str(t, "roomName") != "first" {
			t.Fatalf("room-joined %s, want the room still named first", joined.Data)
		}
		c.expect("participants")
	})
	t.Run("joining another room leaves the current one first", func(t *testing.T) {
		b.send("join-room", map[string]any{"roomId": "other"})
		b.expect("room-created")
		b.expect("room-joined")
		b.expect("participants")
		if got := a.expect("participants").list(t, "participants"); !slices.Equal(got, []string{a.id}) {
			t.Fatalf("lobby participants after b moved: %v", got)
		}
	})
}

func TestLeaveRoom(t *testing.T) {
	srv := startServer(t, Config{})
	a, b := pairInRoom(t, srv, "r")

	b.send("leave-room", map[string]any{})
	if left := b.expect("room-left"); left.str(t, "roomId") != "r" {
		t.Fatalf("room-left %s", left.Data)
	}
	if got := a.expect("participants").list(t, "participants"); !slices.Equal(got, []string{a.id}) {
		t.Fatalf("participants after leave %v", got)
	}
	b.send("leave-room", map[string]any{})
	b.expectError("not-in-room", "leave-room")

	a.send("leave-room", map[string]any{})
	a.expect("room-left")
	testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
		if n := srv.Rooms(); n != 0 {
			return fmt.Errorf("%d rooms open, want the empty one removed", n)
		}
		return nil
	})
}

func TestRelay(t *testing.T) {
	srv := startServer(t, Config{})
	a, b := pairInRoom(t, srv, "r")

	cases := []struct {
		event, key, payload string
	}{
		{"offer", "offer", `{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}`},
		{"answer", "answer", `{"type":"answer","sdp":"v=0\r\n"}`},
		{"ice-candidate", "candidate", `{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host","sdpMid":"0","sdpMLineIndex":0}`},
		{"ice-candidate", "candidate", `null`},
		{"offer", "offer", `"a plain string \"quoted\" {not json}"`},
		{"offer", "offer", `[1, 2.5e3, true, {"nested": [{}]}]`},
	}
	for _, tc := range cases {
		t.Run(tc.event+" "+tc.payload, func(t *testing.T) {
			msg := `{"event":"` + tc.event + `","data":{"targetClientId":"` + b.id + `","` + tc.key + `":` + tc.payload + `}}`
			if tc.payload == "null" {
				a.sendRaw(msg)
				a.expectError("bad-request", tc.event)
				return
			}
			a.sendRaw(msg)
			ev := b.expect(tc.event)
			if ev.str(t, "fromClientId") != a.id {
				t.Fatalf("fromClientId %q, want %q", ev.str(t, "fromClientId"), a.id)
			}
			want := `{"fromClientId":"` + a.id + `","` + tc.key + `":` + tc.payload + `}`
			if string(ev.Data) != want {
				t.Fatalf("payload changed on the way:\n got %s\nwant %s", ev.Data, want)
			}
		})
	}
	t.Run("fromClientId is set by the server, never taken from the client", func(t *testing.T) {
		a.sendRaw(`{"event":"offer","data":{"targetClientId":"` + b.id + `","fromClientId":"` + b.id + `","offer":{}}}`)
		if got := b.expect("offer").str(t, "fromClientId"); got != a.id {
			t.Fatalf("fromClientId %q, want the sender %q", got, a.id)
		}
	})
}

func TestRelayTargetMustShareTheRoom(t *testing.T) {
	srv := startServer(t, Config{})
	a, b, outsider := dial(t, srv), dial(t, srv), dial(t, srv)

	a.send("offer", map[string]any{"targetClientId": b.id, "offer": map[string]any{}})
	a.expectError("not-in-room", "offer")

	a.join("r")
	outsider.join("elsewhere")
	a.send("answer", map[string]any{"targetClientId": outsider.id, "answer": map[string]any{}})
	a.expectError("target-not-found", "answer")
	a.send("ice-candidate", map[string]any{"targetClientId": "00000000-0000-4000-8000-000000000000", "candidate": map[string]any{}})
	a.expectError("target-not-found", "ice-candidate")

	outsider.send("offer", map[string]any{"targetClientId": a.id, "offer": map[string]any{}})
	outsider.expectError("target-not-found", "offer")
	b.stillServed()
}

// TestTargetClientIDMatchesInEitherCase: a client id is a UUID, whose hex
// digits RFC 9562 reads in either case; anything else is no client id.
func TestTargetClientIDMatchesInEitherCase(t *testing.T) {
	srv := startServer(t, Config{})
	a, b := pairInRoom(t, srv, "r")
	a.send("ice-candidate", map[string]any{"targetClientId": strings.ToUpper(b.id), "candidate": 1})
	if got := b.expect("ice-candidate").str(t, "fromClientId"); got != a.id {
		t.Fatalf("fromClientId %q, want %q", got, a.id)
	}
	for _, target := range []string{"*", "r", b.id[:35], " " + b.id} {
		a.send("offer", map[string]any{"targetClientId": target, "offer": 1})
		a.expectError("bad-request", "offer")
	}
}

func TestPingPong(t *testing.T) {
	srv := startServer(t, Config{})
	c := dial(t, srv)
	c.send("ping", map[string]any{})
	c.expect("pong")
	c.sendRaw(`{"event":"ping"}`)
	c.expect("pong")
}

func TestErrorsLeaveTheConnectionUsable(t *testing.T) {
	srv := startServer(t, Config{})
	c := dial(t, srv)
	other := dial(t, srv)
	cases := []struct {
		name, msg, code, cause string
	}{
		{"not JSON", `{"event":`, "bad-json", ""},
		{"not an object", `["join-room"]`, "bad-request", ""},
		{"event missing", `{"data":{}}`, "bad-request", ""},
		{"event not a string", `{"event":7}`, "bad-request", ""},
		{"unknown event", `{"event":"dance","data":{}}`, "unknown-event", ""},
		{"server-only event", `{"event":"client-id","data":{}}`, "unknown-event", ""},
		{"data not an object", `{"event":"join-room","data":"lobby"}`, "bad-request", "join-room"},
		{"roomId with a space", `{"event":"join-room","data":{"roomId":"a b"}}`, "bad-request", "join-room"},
		{"roomId too long", `{"event":"join-room","data":{"roomId":"` + string(make65('x')) + `"}}`, "bad-request", "join-room"},
		{"roomId empty", `{"event":"join-room","data":{"roomId":""}}`, "bad-request", "join-room"},
		{"roomName too long", `{"event":"join-room","data":{"roomName":"` + string(make65('n')) + `"}}`, "bad-request", "join-room"},
		{"targetClientId missing", `{"event":"offer","data":{"offer":{}}}`, "bad-request", "offer"},
		{"targetClientId not a UUID", `{"event":"answer","data":{"targetClientId":"bob","answer":{}}}`, "bad-request", "answer"},
		{"candidate missing", `{"event":"ice-candidate","data":{"targetClientId":"` + other.id + `"}}`, "bad-request", "ice-candidate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.sendRaw(tc.msg)
			c.expectError(tc.code, tc.cause)
			c.stillServed()
		})
	}
}

func make65(c byte) []byte {
	b := make([]byte, 65)
	for i := range b {
		b[i] = c
	}
	return b
}

func TestDisconnectLeavesTheRoom(t *testing.T) {
	srv := startServer(t, Config{})
	a, b := pairInRoom(t, srv, "r")

	_ = b.ws.CloseNow() // a reset, not a close handshake
	if got := a.expect("participants").list(t, "participants"); !slices.Equal(got, []string{a.id}) {
		t.Fatalf("participants after disconnect %v", got)
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, clientsConnected(srv, 1))
	_ = a.ws.CloseNow()
	testkit.CheckFor(t, waitTimeout, pollEvery, tablesEmpty(srv))
}
