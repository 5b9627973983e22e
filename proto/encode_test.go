package proto

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// Ids used by the encoder tests; their text forms are spelled out so that the
// expected messages do not depend on AppendText.
var (
	idA     = ClientID{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x46, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	idAText = "00112233-4455-4677-8899-aabbccddeeff"
	idB     = ClientID{0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x49, 0x88, 0xb7, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00}
	idBText = "ffeeddcc-bbaa-4988-b766-554433221100"
	idCText = peerID
)

// prefix is what the Append functions are given as dst: they must append to
// it, never overwrite it.
const prefix = "previous message\x00"

// decodeServerMessage checks that out is prefix followed by one valid JSON
// message and returns that message decoded by encoding/json.
func decodeServerMessage(t *testing.T, out []byte) any {
	t.Helper()
	if !bytes.HasPrefix(out, []byte(prefix)) {
		t.Fatalf("output %q does not keep dst %q", out, prefix)
	}
	msg := out[len(prefix):]
	if !json.Valid(msg) {
		t.Fatalf("output is not valid JSON: %s", msg)
	}
	var v any
	if err := json.Unmarshal(msg, &v); err != nil {
		t.Fatalf("unmarshal %s: %v", msg, err)
	}
	return v
}

// object is shorthand for the expected JSON objects.
type object = map[string]any

func event(name string, data object) object { return object{"event": name, "data": data} }

func TestAppendServerMessages(t *testing.T) {
	six := []ClientID{idA, idB, peer, {}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, idA}
	sixText := []any{idAText, idBText, idCText, "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", idAText}
	cases := []struct {
		name   string
		append func(dst []byte) []byte
		want   object
	}{
		{"client-id", func(d []byte) []byte { return AppendClientID(d, idA) },
			event("client-id", object{"clientId": idAText})},
		{"client-id of the zero id", func(d []byte) []byte { return AppendClientID(d, ClientID{}) },
			event("client-id", object{"clientId": "00000000-0000-0000-0000-000000000000"})},
		{"room-created", func(d []byte) []byte { return AppendRoomCreated(d, "lobby", `"The Lobby"`) },
			event("room-created", object{"roomId": "lobby", "roomName": "The Lobby"})},
		{"room-created with escaped name", func(d []byte) []byte {
			return AppendRoomCreated(d, "AZaz09_.:-", `"caf\u00e9 \"q\" \\ \ud83d\ude00\n"`)
		}, event("room-created", object{"roomId": "AZaz09_.:-", "roomName": "café \"q\" \\ 😀\n"})},
		{"room-created with empty name", func(d []byte) []byte { return AppendRoomCreated(d, "r", `""`) },
			event("room-created", object{"roomId": "r", "roomName": ""})},
		{"room-joined alone", func(d []byte) []byte { return AppendRoomJoined(d, "lobby", `"Lobby"`, []ClientID{idA}) },
			event("room-joined", object{"roomId": "lobby", "roomName": "Lobby", "participants": []any{idAText}})},
		{"room-joined with no one listed", func(d []byte) []byte { return AppendRoomJoined(d, "lobby", `"Lobby"`, nil) },
			event("room-joined", object{"roomId": "lobby", "roomName": "Lobby", "participants": []any{}})},
		{"room-joined full room in order", func(d []byte) []byte { return AppendRoomJoined(d, "lobby", `"Lobby"`, six) },
			event("room-joined", object{"roomId": "lobby", "roomName": "Lobby", "participants": sixText})},
		{"participants", func(d []byte) []byte { return AppendParticipants(d, "lobby", []ClientID{idB, idA}) },
			event("participants", object{"roomId": "lobby", "participants": []any{idBText, idAText}})},
		{"participants empty", func(d []byte) []byte { return AppendParticipants(d, "lobby", []ClientID{}) },
			event("participants", object{"roomId": "lobby", "participants": []any{}})},
		{"participants full room", func(d []byte) []byte { return AppendParticipants(d, "x", six) },
			event("participants", object{"roomId": "x", "participants": sixText})},
		{"room-left", func(d []byte) []byte { return AppendRoomLeft(d, "lobby") },
			event("room-left", object{"roomId": "lobby"})},
		{"room-left with 64-byte id", func(d []byte) []byte { return AppendRoomLeft(d, strings.Repeat("z", 64)) },
			event("room-left", object{"roomId": strings.Repeat("z", 64)})},
		{"offer", func(d []byte) []byte {
			return AppendRelay(d, EventOffer, idA, []byte(`{"type":"offer","sdp":"v=0\r\n"}`))
		},
			event("offer", object{"fromClientId": idAText, "offer": object{"type": "offer", "sdp": "v=0\r\n"}})},
		{"answer", func(d []byte) []byte {
			return AppendRelay(d, EventAnswer, idB, []byte(`{"type":"answer","sdp":"v=0\r\n"}`))
		},
			event("answer", object{"fromClientId": idBText, "answer": object{"type": "answer", "sdp": "v=0\r\n"}})},
		{"ice-candidate", func(d []byte) []byte { return AppendRelay(d, EventICECandidate, peer, []byte(candidatePayload)) },
			event("ice-candidate", object{"fromClientId": idCText, "candidate": object{
				"candidate":     "candidate:842163049 1 udp 1677729535 203.0.113.7 3478 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXm4 network-cost 999",
				"sdpMid":        "0",
				"sdpMLineIndex": 0.0,
			}})},
		{"ice-candidate end of candidates", func(d []byte) []byte { return AppendRelay(d, EventICECandidate, idA, []byte(`""`)) },
			event("ice-candidate", object{"fromClientId": idAText, "candidate": ""})},
		{"pong", AppendPong, event("pong", object{})},
		{"error about an event", func(d []byte) []byte {
			return AppendError(d, CodeRoomFull, "the room already has 6 participants", EventJoinRoom)
		}, event("error", object{"code": "room-full", "message": "the room already has 6 participants", "event": "join-room"})},
		{"error about a relay", func(d []byte) []byte {
			return AppendError(d, CodeTargetNotFound, "no such client", EventICECandidate)
		}, event("error", object{"code": "target-not-found", "message": "no such client", "event": "ice-candidate"})},
		{"error without event", func(d []byte) []byte { return AppendError(d, CodeBadJSON, "message is not valid JSON", EventUnknown) },
			event("error", object{"code": "bad-json", "message": "message is not valid JSON"})},
		{"error with message needing escapes", func(d []byte) []byte {
			return AppendError(d, CodeBadRequest, "say \"hi\"\\\n\t\x00 \xff é", EventPing)
		}, event("error", object{"code": "bad-request", "message": "say \"hi\"\\\n\t\x00 \ufffd é", "event": "ping"})},
		{"error with empty message", func(d []byte) []byte { return AppendError(d, CodeRateLimited, "", EventUnknown) },
			event("error", object{"code": "rate-limited", "message": ""})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := decodeServerMessage(t, tc.append([]byte(prefix)))
			if !reflect.DeepEqual(got, any(tc.want)) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestAppendErrorEveryCode(t *testing.T) {
	codes := []Code{CodeBadJSON, CodeBadRequest, CodeUnknownEvent, CodeNotInRoom, CodeTargetNotFound,
		CodeRoomFull, CodeRoomLimit, CodeServerFull, CodeRateLimited, CodeJoinTimeout}
	causes := []Event{EventUnknown, EventJoinRoom, EventLeaveRoom, EventOffer, EventAnswer, EventICECandidate, EventPing}
	for _, code := range codes {
		for _, cause := range causes {
			t.Run(fmt.Sprintf("%s/%s", code, cause), func(t *testing.T) {
				got := decodeServerMessage(t, AppendError([]byte(prefix), code, "m", cause))
				data := object{"code": string(code), "message": "m"}
				if cause != EventUnknown {
					data["event"] = cause.String()
				}
				if want := event("error", data); !reflect.DeepEqual(got, any(want)) {
					t.Errorf("got  %v\nwant %v", got, want)
				}
			})
		}
	}
}

func TestAppendRelayPassesPayloadThrough(t *testing.T) {
	payloads := []struct{ name, raw string }{
		{"realistic offer", offerPayload},
		{"candidate", candidatePayload},
		{"whitespace and key order kept", "{ \"sdp\" : \"x\" ,\n\t\"type\":\"offer\" }"},
		{"escapes kept as written", `{"sdp":"caf\u00e9\/\ud83d\ude00\r\n","k":"\"}{"}`},
		{"number written unusually", `1.50E+01`},
		{"string", `"end-of-candidates"`},
		{"array", `[null,true,false,{}]`},
		{"duplicate keys kept", `{"a":1,"a":2}`},
	}
	for _, e := range []Event{EventOffer, EventAnswer, EventICECandidate} {
		for _, pl := range payloads {
			t.Run(e.String()+"/"+pl.name, func(t *testing.T) {
				out := AppendRelay([]byte(prefix), e, idB, []byte(pl.raw))
				msg := out[len(prefix):]
				var top struct {
					Event string                     `json:"event"`
					Data  map[string]json.RawMessage `json:"data"`
				}
				if !bytes.HasPrefix(out, []byte(prefix)) || !json.Valid(msg) {
					t.Fatalf("output %q is not the prefix and one JSON message", out)
				}
				if err := json.Unmarshal(msg, &top); err != nil {
					t.Fatal(err)
				}
				if top.Event != e.String() || len(top.Data) != 2 || string(top.Data["fromClientId"]) != `"`+idBText+`"` {
					t.Errorf("message %s: want event %q and data of fromClientId %q and %q", msg, e, idBText, payloadKeyOf(e))
				}
				if got := string(top.Data[payloadKeyOf(e)]); got != pl.raw {
					t.Errorf("payload = %s\nwant      %s", got, pl.raw)
				}
			})
		}
	}
}

// TestAppendRelayOfDecoded relays what Decode accepted, the server's hot path.
func TestAppendRelayOfDecoded(t *testing.T) {
	inputs := []struct{ name, in string }{
		{"offer", offerMessage},
		{"answer with whitespace", "{ \"event\" : \"answer\" , \"data\" : { \"answer\" : { \"sdp\" : \"v=0\\r\\n\" } , \"targetClientId\" : \"" + peerIDUpper + "\" } }"},
		{"ice-candidate", relayMessage(EventICECandidate, peerID, candidatePayload)},
		{"numeric payload", relayMessage(EventAnswer, peerID, `-0.0e0`)},
	}
	for _, tc := range inputs {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			if p := Decode([]byte(tc.in), &m); !p.OK() {
				t.Fatalf("Decode: %+v", p)
			}
			out := AppendRelay(nil, m.Event, idA, m.Payload)
			var got, sent struct {
				Event string                     `json:"event"`
				Data  map[string]json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("relayed message %s: %v", out, err)
			}
			if err := json.Unmarshal([]byte(tc.in), &sent); err != nil {
				t.Fatal(err)
			}
			key := payloadKeyOf(m.Event)
			if got.Event != sent.Event || !bytes.Equal(got.Data[key], sent.Data[key]) {
				t.Errorf("relayed %s\nfrom      %s", out, tc.in)
			}
		})
	}
}

// TestAppendRoomNameOfDecoded sends back the roomName token Decode returned.
func TestAppendRoomNameOfDecoded(t *testing.T) {
	names := []string{`"Lobby"`, `""`, `"caf\u00e9 \"q\" \\ \/ \ud83d\ude00 \t"`, `"漢字 😀"`, `"` + strings.Repeat(`\ud83d\ude00`, 64) + `"`}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			var m Message
			if p := Decode([]byte(`{"event":"join-room","data":{"roomId":"r","roomName":`+name+`}}`), &m); !p.OK() {
				t.Fatalf("Decode: %+v", p)
			}
			var want string
			if err := json.Unmarshal([]byte(name), &want); err != nil {
				t.Fatal(err)
			}
			for _, out := range [][]byte{
				AppendRoomCreated([]byte(prefix), string(m.RoomID), string(m.RoomName)),
				AppendRoomJoined([]byte(prefix), string(m.RoomID), string(m.RoomName), []ClientID{idA}),
			} {
				got, ok := decodeServerMessage(t, out).(object)["data"].(object)
				if !ok || got["roomName"] != want || got["roomId"] != "r" {
					t.Errorf("%s: data %v, want roomId r and roomName %q", out, got, want)
				}
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"plain", "hello, world", `"hello, world"`},
		{"quote", `say "hi"`, `"say \"hi\""`},
		{"backslash", `C:\dir\`, `"C:\\dir\\"`},
		{"slash is not escaped", "a/b", `"a/b"`},
		{"NUL", "\x00", `"\u0000"`},
		{"newline, tab, carriage return", "\n\t\r", `"\u000a\u0009\u000d"`},
		{"unit separator", "\x1f", `"\u001f"`},
		{"space and DEL pass", " \x7f", "\" \x7f\""},
		{"two-byte UTF-8", "é", `"é"`},
		{"three-byte UTF-8", "漢", `"漢"`},
		{"four-byte UTF-8", "😀", `"😀"`},
		{"replacement character passes", "\ufffd", "\"\ufffd\""},
		{"lone invalid byte", "\xff", `"\ufffd"`},
		{"continuation byte", "a\x80b", `"a\ufffdb"`},
		{"truncated sequence", "\xe6\xbc", `"\ufffd\ufffd"`},
		{"truncated sequence at end", "ok\xf0\x9f\x98", `"ok\ufffd\ufffd\ufffd"`},
		{"overlong encoding", "\xc0\xaf", `"\ufffd\ufffd"`},
		{"UTF-8 encoded surrogate", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
		{"beyond U+10FFFF", "\xf4\x90\x80\x80", `"\ufffd\ufffd\ufffd\ufffd"`},
		{"mixed", "a\"\\\x01é\xffz", `"a\"\\\u0001é\ufffdz"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := AppendString([]byte(prefix), tc.in)
			if got := string(out[len(prefix):]); !strings.HasPrefix(string(out), prefix) || got != tc.want {
				t.Fatalf("AppendString(%q) = %s, want %s", tc.in, got, tc.want)
			}
			checkStringToken(t, tc.in, out[len(prefix):])
		})
	}
	t.Run("every control character", func(t *testing.T) {
		for c := byte(0); c < 0x20; c++ {
			out := AppendString(nil, string([]byte{'<', c, '>'}))
			if want := fmt.Sprintf(`"<\u%04x>"`, c); string(out) != want {
				t.Errorf("AppendString(%q) = %s, want %s", c, out, want)
			}
		}
	})
	t.Run("every byte", func(t *testing.T) {
		for c := 0; c < 256; c++ {
			s := string([]byte{byte(c)})
			checkStringToken(t, s, AppendString(nil, s))
		}
	})
}

// checkStringToken checks that token is a valid JSON string that decodes to s,
// each byte of s that is not part of valid UTF-8 replaced by U+FFFD.
func checkStringToken(t *testing.T, s string, token []byte) {
	t.Helper()
	if !json.Valid(token) || token[0] != '"' {
		t.Fatalf("AppendString(%q) = %s, not a JSON string", s, token)
	}
	if !utf8.Valid(token) {
		t.Errorf("AppendString(%q) = %q, not valid UTF-8", s, token)
	}
	var got string
	if err := json.Unmarshal(token, &got); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, r := range s { // ranging gives U+FFFD for each invalid byte
		want.WriteRune(r)
	}
	if got != want.String() {
		t.Errorf("AppendString(%q) decodes to %q, want %q", s, got, want.String())
	}
}

func TestAppendAllocations(t *testing.T) {
	payload := []byte(offerPayload)
	ids := []ClientID{idA, idB, peer, idA, idB, peer}
	cases := []struct {
		name   string
		append func(dst []byte) []byte
	}{
		{"relay", func(d []byte) []byte { return AppendRelay(d, EventOffer, idA, payload) }},
		{"client-id", func(d []byte) []byte { return AppendClientID(d, idA) }},
		{"room-created", func(d []byte) []byte { return AppendRoomCreated(d, "lobby", `"Lobby"`) }},
		{"room-joined", func(d []byte) []byte { return AppendRoomJoined(d, "lobby", `"Lobby"`, ids) }},
		{"participants", func(d []byte) []byte { return AppendParticipants(d, "lobby", ids) }},
		{"room-left", func(d []byte) []byte { return AppendRoomLeft(d, "lobby") }},
		{"pong", AppendPong},
		{"error", func(d []byte) []byte { return AppendError(d, CodeBadRequest, "bad \"x\" \xff", EventOffer) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			buf := tc.append(nil) // grown once, then reused
			if n := testing.AllocsPerRun(200, func() { buf = tc.append(buf[:0]) }); n != 0 {
				t.Errorf("appending into a reused buffer allocates %v times, want 0", n)
			}
		})
	}
}

func BenchmarkDecodeOffer(b *testing.B) {
	in := []byte(offerMessage)
	var m Message
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if p := Decode(in, &m); !p.OK() {
			b.Fatal(p)
		}
	}
}

func BenchmarkAppendRelay(b *testing.B) {
	payload := []byte(offerPayload)
	buf := AppendRelay(nil, EventOffer, idA, payload)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRelay(buf[:0], EventOffer, idA, payload)
	}
}
