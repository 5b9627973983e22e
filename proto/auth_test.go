package proto

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeJoinToken(t *testing.T) {
	tests := []struct {
		in    string
		token string
		code  Code
	}{
		{`{"event":"join-room","data":{"roomId":"r","token":"aaa.bbb.ccc"}}`, "aaa.bbb.ccc", ""},
		{`{"event":"join-room","data":{"roomId":"r"}}`, "", ""},
		{`{"event":"join-room","data":{"roomId":"r","token":null}}`, "", ""},
		{`{"event":"join-room","data":{"roomId":"r","token":42}}`, "", CodeBadRequest},
		{`{"event":"join-room","data":{"roomId":"r","token":"` + strings.Repeat("a", MaxTokenLen+1) + `"}}`, "", CodeBadRequest},
		{`{"event":"join-room","data":{"roomId":"r","token":"a\"b"}}`, "", CodeUnauthorized},
		{`{"event":"join-room","data":{"roomId":"r","token":"é"}}`, "", CodeUnauthorized},
		{`{"event":"offer","data":{"targetClientId":"` + idA.String() + `","offer":{},"token":"x"}}`, "", ""},
	}
	for _, tc := range tests {
		var m Message
		p := Decode([]byte(tc.in), &m)
		if p.Code != tc.code || string(m.Token) != tc.token {
			t.Errorf("Decode(%.80s): code %q token %q, want %q %q", tc.in, p.Code, m.Token, tc.code, tc.token)
		}
		if p.Code == CodeUnauthorized && p.Event != EventJoinRoom {
			t.Errorf("Decode(%.80s): event %v", tc.in, p.Event)
		}
	}
}

type iceServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

func TestAppendRoomJoinedICE(t *testing.T) {
	ids := []ClientID{idA, idB}
	for _, tc := range []struct {
		name string
		ice  ICEServers
		want []iceServer
	}{
		{"none", ICEServers{}, []iceServer{}},
		{"STUN", ICEServers{STUN: []string{"stun:a:3478", "stun:b"}}, []iceServer{{URLs: []string{"stun:a:3478", "stun:b"}}}},
		{"TURN", ICEServers{TURN: []string{"turn:a?transport=udp"}, Username: []byte("1:x"), Credential: []byte("c+/=")},
			[]iceServer{{URLs: []string{"turn:a?transport=udp"}, Username: "1:x", Credential: "c+/="}}},
		{"both, odd bytes", ICEServers{STUN: []string{`stun:"q"`}, TURN: []string{"turns:b"}, Username: []byte("1:\"\\"), Credential: []byte("é")},
			[]iceServer{{URLs: []string{`stun:"q"`}}, {URLs: []string{"turns:b"}, Username: "1:\"\\", Credential: "é"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := AppendRoomJoinedICE(nil, "lobby", `"Lobby"`, ids, &tc.ice)
			var msg struct {
				Event string
				Data  struct {
					RoomID       string
					RoomName     string
					Participants []string
					IceServers   []iceServer
				}
			}
			if err := json.Unmarshal(out, &msg); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			if msg.Event != "room-joined" || msg.Data.RoomID != "lobby" || msg.Data.RoomName != "Lobby" || len(msg.Data.Participants) != 2 {
				t.Fatalf("decoded %+v from %s", msg, out)
			}
			if !reflect.DeepEqual(msg.Data.IceServers, tc.want) {
				t.Fatalf("iceServers %+v, want %+v (%s)", msg.Data.IceServers, tc.want, out)
			}
			buf := out
			ice := tc.ice
			if n := testing.AllocsPerRun(100, func() { buf = AppendRoomJoinedICE(buf[:0], "lobby", `"Lobby"`, ids, &ice) }); n != 0 && tc.name != "both, odd bytes" {
				t.Errorf("allocates %v times into a reused buffer", n)
			}
		})
	}
}

// FuzzAppendRoomJoinedICE: whatever the URIs and credentials, the message
// is valid JSON that gives them back.
func FuzzAppendRoomJoinedICE(f *testing.F) {
	f.Add("stun:a", "turn:b?transport=udp", "1700000000:id", "cred==")
	f.Add("", "", "", "")
	f.Add("\x00\"\\", "\xff", "é", "\u2028")
	f.Fuzz(func(t *testing.T, stun, turn, user, cred string) {
		ice := ICEServers{Username: []byte(user), Credential: []byte(cred)}
		if stun != "" {
			ice.STUN = []string{stun}
		}
		if turn != "" {
			ice.TURN = []string{turn}
		}
		out := AppendRoomJoinedICE(nil, "r", `"r"`, nil, &ice)
		var msg struct {
			Data struct{ IceServers []iceServer }
		}
		if err := json.Unmarshal(out, &msg); err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		n := len(ice.STUN) + len(ice.TURN)
		if len(msg.Data.IceServers) != n {
			t.Fatalf("%d servers, want %d: %s", len(msg.Data.IceServers), n, out)
		}
	})
}
