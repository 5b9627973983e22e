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
		if seen[c.ID] {
			t.Fatalf("client id %s handed out twice", c.ID)
		}
		seen[c.ID] = true
		if c.ID[14] != '4' {
			t.Fatalf("client id %s is not a version-4 UUID", c.ID)
		}
	}
}

func TestJoinRoom(t *testing.T) {
	srv := startServer(t, Config{})
	a := dial(t, srv)
	b := dial(t, srv)

	t.Run("creator gets room-created, room-joined, participants", func(t *testing.T) {
		a.Send("join-room", map[string]any{"roomId": "lobby", "roomName": "The Lobby"})
		created := a.Expect("room-created")
		if created.Str(t, "roomId") != "lobby" || created.Str(t, "roomName") != "The Lobby" {
			t.Fatalf("room-created %s", created.Data)
		}
		joined := a.Expect("room-joined")
		if got := joined.List(t, "participants"); !slices.Equal(got, []string{a.ID}) {
			t.Fatalf("room-joined participants %v", got)
		}
		p := a.Expect("participants")
		if p.Str(t, "roomId") != "lobby" || !slices.Equal(p.List(t, "participants"), []string{a.ID}) {
			t.Fatalf("participants %s", p.Data)
		}
	})
	t.Run("second member gets room-joined with the creator's name, all get participants in join order", func(t *testing.T) {
		b.Send("join-room", map[string]any{"roomId": "lobby", "roomName": "ignored"})
		joined := b.Expect("room-joined")
		if joined.Str(t, "roomName") != "The Lobby" {
			t.Fatalf("room name %q, want the creator's", joined.Str(t, "roomName"))
		}
		want := []string{a.ID, b.ID}
		if got := joined.List(t, "participants"); !slices.Equal(got, want) {
			t.Fatalf("room-joined participants %v, want %v", got, want)
		}
		for _, c := range []*testkit.Client{b, a} {
			if got := c.Expect("participants").List(t, "participants"); !slices.Equal(got, want) {
				t.Fatalf("participants %v, want %v", got, want)
			}
		}
	})
	t.Run("join without roomId creates a fresh room named after its id", func(t *testing.T) {
		c := dial(t, srv)
		c.Send("join-room", map[string]any{})
		created := c.Expect("room-created")
		id := created.Str(t, "roomId")
		if len(id) != 36 || created.Str(t, "roomName") != id {
			t.Fatalf("room-created %s", created.Data)
		}
		c.Expect("room-joined")
		c.Expect("participants")
	})
	t.Run("joining the room you are in moves you to the end; room-mates see you leave and come back", func(t *testing.T) {
		a.Send("join-room", map[string]any{"roomId": "lobby", "roomName": "ignored"})
		joined := a.Expect("room-joined")
		if joined.Str(t, "roomName") != "The Lobby" || !slices.Equal(joined.List(t, "participants"), []string{b.ID, a.ID}) {
			t.Fatalf("room-joined %s, want The Lobby with b then a", joined.Data)
		}
		a.Expect("participants")
		for _, want := range [][]string{{b.ID}, {b.ID, a.ID}} {
			if got := b.Expect("participants").List(t, "participants"); !slices.Equal(got, want) {
				t.Fatalf("b saw participants %v, want %v", got, want)
			}
		}
	})
	t.Run("joining the room you are alone in keeps it: no room-created, same name", func(t *testing.T) {
		c := dial(t, srv)
		c.Send("join-room", map[string]any{"roomId": "solo", "roomName": "first"})
		c.Expect("room-created")
		c.Expect("room-joined")
		c.Expect("participants")
		c.Send("join-room", map[string]any{"roomId": "solo", "roomName": "second"})
		if joined := c.Expect("room-joined"); joined.Str(t, "roomName") != "first" {
			t.Fatalf("room-joined %s, want the room still named first", joined.Data)
		}
		c.Expect("participants")
	})
	t.Run("joining another room leaves the current one first", func(t *testing.T) {
		b.Send("join-room", map[string]any{"roomId": "other"})
		b.Expect("room-created")
		b.Expect("room-joined")
		b.Expect("participants")
		if got := a.Expect("participants").List(t, "participants"); !slices.Equal(got, []string{a.ID}) {
			t.Fatalf("lobby participants after b moved: %v", got)
		}
	})
}

func TestLeaveRoom(t *testing.T) {
	srv := startServer(t, Config{})
	a, b := pairInRoom(t, srv, "r")

	b.Send("leave-room", map[string]any{})
	if left := b.Expect("room-left"); left.Str(t, "roomId") != "r" {
		t.Fatalf("room-left %s", left.Data)
	}
	if got := a.Expect("participants").List(t, "participants"); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("participants after leave %v", got)
	}
	b.Send("leave-room", map[string]any{})
	b.ExpectError("not-in-room", "leave-room")

	a.Send("leave-room", map[string]any{})
	a.Expect("room-left")
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
			msg := `{"event":"` + tc.event + `","data":{"targetClientId":"` + b.ID + `","` + tc.key + `":` + tc.payload + `}}`
			if tc.payload == "null" {
				a.SendRaw(msg)
				a.ExpectError("bad-request", tc.event)
				return
			}
			a.SendRaw(msg)
			ev := b.Expect(tc.event)
			if ev.Str(t, "fromClientId") != a.ID {
				t.Fatalf("fromClientId %q, want %q", ev.Str(t, "fromClientId"), a.ID)
			}
			want := `{"fromClientId":"` + a.ID + `","` + tc.key + `":` + tc.payload + `}`
			if string(ev.Data) != want {
				t.Fatalf("payload changed on the way:\n got %s\nwant %s", ev.Data, want)
			}
		})
	}
	t.Run("fromClientId is set by the server, never taken from the client", func(t *testing.T) {
		a.SendRaw(`{"event":"offer","data":{"targetClientId":"` + b.ID + `","fromClientId":"` + b.ID + `","offer":{}}}`)
		if got := b.Expect("offer").Str(t, "fromClientId"); got != a.ID {
			t.Fatalf("fromClientId %q, want the sender %q", got, a.ID)
		}
	})
}

func TestRelayTargetMustShareTheRoom(t *testing.T) {
	srv := startServer(t, Config{})
	a, b, outsider := dial(t, srv), dial(t, srv), dial(t, srv)

	a.Send("offer", map[string]any{"targetClientId": b.ID, "offer": map[string]any{}})
	a.ExpectError("not-in-room", "offer")

	a.Join("r")
	outsider.Join("elsewhere")
	a.Send("answer", map[string]any{"targetClientId": outsider.ID, "answer": map[string]any{}})
	a.ExpectError("target-not-found", "answer")
	a.Send("ice-candidate", map[string]any{"targetClientId": "00000000-0000-4000-8000-000000000000", "candidate": map[string]any{}})
	a.ExpectError("target-not-found", "ice-candidate")

	outsider.Send("offer", map[string]any{"targetClientId": a.ID, "offer": map[string]any{}})
	outsider.ExpectError("target-not-found", "offer")
	b.StillServed()
}

// TestTargetClientIDMatchesInEitherCase: a client id is a UUID, whose hex
// digits RFC 9562 reads in either case; anything else is no client id.
func TestTargetClientIDMatchesInEitherCase(t *testing.T) {
	srv := startServer(t, Config{})
	a, b := pairInRoom(t, srv, "r")
	a.Send("ice-candidate", map[string]any{"targetClientId": strings.ToUpper(b.ID), "candidate": 1})
	if got := b.Expect("ice-candidate").Str(t, "fromClientId"); got != a.ID {
		t.Fatalf("fromClientId %q, want %q", got, a.ID)
	}
	for _, target := range []string{"*", "r", b.ID[:35], " " + b.ID} {
		a.Send("offer", map[string]any{"targetClientId": target, "offer": 1})
		a.ExpectError("bad-request", "offer")
	}
}

func TestPingPong(t *testing.T) {
	srv := startServer(t, Config{})
	c := dial(t, srv)
	c.Send("ping", map[string]any{})
	c.Expect("pong")
	c.SendRaw(`{"event":"ping"}`)
	c.Expect("pong")
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
		{"candidate missing", `{"event":"ice-candidate","data":{"targetClientId":"` + other.ID + `"}}`, "bad-request", "ice-candidate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.SendRaw(tc.msg)
			c.ExpectError(tc.code, tc.cause)
			c.StillServed()
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

	_ = b.Conn.CloseNow() // a reset, not a close handshake
	if got := a.Expect("participants").List(t, "participants"); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("participants after disconnect %v", got)
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, clientsConnected(srv, 1))
	_ = a.Conn.CloseNow()
	testkit.CheckFor(t, waitTimeout, pollEvery, tablesEmpty(srv))
}
