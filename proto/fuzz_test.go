package proto

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are real client messages and some broken ones.
var fuzzSeeds = []string{
	`{"event":"join-room","data":{"roomId":"lobby","roomName":"The Lobby"}}`,
	`{"event":"join-room","data":{"roomName":"caf\u00e9 \ud83d\ude00"}}`,
	`{"event":"join-room"}`,
	offerMessage,
	relayMessage(EventAnswer, peerID, `{"type":"answer","sdp":"v=0\r\no=- 4611731400430051337 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"}`),
	relayMessage(EventICECandidate, peerIDUpper, candidatePayload),
	relayMessage(EventICECandidate, peerID, `""`),
	`{"event":"ping","data":{}}`,
	`{"event":"ping"}`,
	`{"event":"leave-room","data":null}`,
	`{"event":"ack","data":{"seq":17}}`,
	`{"event":"resume","data":{"clientId":"` + peerID + `","resumeToken":"00112233445566778899aabbccddeeff","lastSeq":3}}`,
	`{"event":"ack","data":{"seq":1e3}}`,
	`{"event":"resume","data":{"clientId":"` + peerID + `","resumeToken":"0011","lastSeq":-3}}`,
	// Broken or rejected.
	offerMessage[:len(offerMessage)/2],
	`{"event":"offer","data":{"targetClientId":"nope","offer":{}}}`,
	`{"event":"answer","data":{"targetClientId":"` + peerID + `","answer":null}}`,
	`{"event":"join-room","data":{"roomId":"my room"}}`,
	`{"event":"join-room","data":{"roomName":"` + strings.Repeat("n", 65) + `"}}`,
	`{"event":"join-room","data":{"roomName":"` + strings.Repeat(`\ud800\u0041`, 33) + `"}}`,
	`{"event":"pong","data":{}}`,
	`{"event":1}`,
	`{"\u0065vent":"ping","event":"ping","data":[],"data":{}}`,
	`{"event":"join-room","data":{"roomId":"a"},"data":{}}`,
	`[{"event":"ping"}]`,
	`{"event":"ping",}`,
	"{\"event\":\"ping\",\"data\":{\"x\":\"\xff\xfe\"}}",
	`{"event":"offer","data":{"offer":[[[[[[[[{"}":"]\"\\"}]]]]]]]],"targetClientId":"` + peerID + `"}}`,
	strings.Repeat("[", 300) + strings.Repeat("]", 300),
	``,
}

// maxTestedNesting is how deeply nested a message Decode is expected to take;
// see TestDecodeDeepNesting.
const maxTestedNesting = 256

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		var m Message
		p := Decode(in, &m)
		if !bytes.Equal(in, orig) {
			t.Fatalf("Decode modified its input")
		}
		var again Message
		if p2 := Decode(in, &again); p2 != p || !equalMessages(&m, &again) {
			t.Fatalf("Decode is not deterministic: %+v then %+v", p, p2)
		}

		valid := json.Valid(in)
		switch {
		case !valid && p.Code != CodeBadJSON && nesting(in) <= maxTestedNesting:
			t.Fatalf("invalid JSON %q: Decode = %+v, want bad-json", in, p)
		case valid && p.Code == CodeBadJSON && nesting(in) <= maxTestedNesting:
			t.Fatalf("valid JSON %q: Decode = %+v", in, p)
		}
		if !p.OK() {
			checkProblem(t, in, p)
			return
		}
		checkAccepted(t, in, &m)
	})
}

func checkProblem(t *testing.T, in []byte, p Problem) {
	switch p.Code {
	case CodeBadJSON, CodeUnknownEvent:
		if p.Event != EventUnknown {
			t.Fatalf("%q: %+v names an event", in, p)
		}
	case CodeBadRequest:
		switch p.Event {
		case EventUnknown, EventJoinRoom, EventLeaveRoom, EventOffer, EventAnswer, EventICECandidate, EventPing, EventAck, EventResume:
		default:
			t.Fatalf("%q: %+v names an event clients do not send", in, p)
		}
	default:
		t.Fatalf("%q: Decode gives code %q", in, p.Code)
	}
	if p.Message == "" {
		t.Fatalf("%q: %+v has no message", in, p)
	}
}

// checkAccepted compares an accepted message with what encoding/json reads.
func checkAccepted(t *testing.T, in []byte, m *Message) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(in, &top); err != nil {
		t.Fatalf("Decode accepted %q, which encoding/json cannot read as an object: %v", in, err)
	}
	var name string
	if err := json.Unmarshal(top["event"], &name); err != nil || name != m.Event.String() {
		t.Fatalf("%q: Event %v, but encoding/json reads event %q (%v)", in, m.Event, name, err)
	}
	var data map[string]json.RawMessage // stays nil for a missing or null data
	if raw, ok := top["data"]; ok {
		if err := json.Unmarshal(raw, &data); err != nil {
			t.Fatalf("%q: accepted with data %s: %v", in, raw, err)
		}
	}
	mismatch := t.Fatalf

	if m.Event != EventJoinRoom && (m.RoomID != nil || m.RoomName != nil) {
		t.Fatalf("%q: %v has RoomID %q and RoomName %q", in, m.Event, m.RoomID, m.RoomName)
	}
	if key := payloadKeyOf(m.Event); key == "" {
		if m.Payload != nil || m.Target != (ClientID{}) {
			t.Fatalf("%q: %v has Target %v and Payload %q", in, m.Event, m.Target, m.Payload)
		}
	} else {
		checkRelay(t, in, m, data, key, mismatch)
	}
	if m.Event == EventJoinRoom {
		checkJoin(t, in, m, data, mismatch)
	}
	checkSession(t, in, m, data)
}

// checkSession compares an accepted ack or resume with encoding/json.
func checkSession(t *testing.T, in []byte, m *Message, data map[string]json.RawMessage) {
	var want struct {
		Seq         *uint64 `json:"seq"`
		LastSeq     *uint64 `json:"lastSeq"`
		ClientID    string  `json:"clientId"`
		ResumeToken string  `json:"resumeToken"`
	}
	raw, _ := json.Marshal(data)
	_ = json.Unmarshal(raw, &want)
	switch m.Event {
	case EventAck:
		if want.Seq == nil || *want.Seq != m.Seq || m.Seq > maxSeq {
			t.Fatalf("%q: Seq %d, encoding/json reads seq %s", in, m.Seq, data["seq"])
		}
	case EventResume:
		id, ok := ParseClientID([]byte(want.ClientID))
		if want.LastSeq == nil || *want.LastSeq != m.LastSeq || !ok || id != m.ClientID ||
			string(m.ResumeToken.AppendText(nil)) != strings.ToLower(want.ResumeToken) {
			t.Fatalf("%q: resume %v %x %d, encoding/json reads %+v", in, m.ClientID, m.ResumeToken, m.LastSeq, want)
		}
	default:
		if m.Seq != 0 || m.LastSeq != 0 || m.ClientID != (ClientID{}) || m.ResumeToken != (ResumeToken{}) {
			t.Fatalf("%q: %v carries resume fields", in, m.Event)
		}
	}
}

func checkRelay(t *testing.T, in []byte, m *Message, data map[string]json.RawMessage, key string, mismatch func(string, ...any)) {
	if !json.Valid(m.Payload) {
		t.Fatalf("%q: Payload %q is not valid JSON", in, m.Payload)
	}
	if !isSubslice(in, m.Payload) {
		t.Fatalf("%q: Payload is not a slice of the input", in)
	}
	if m.Event == EventICECandidate && len(m.Payload) > MaxCandidateLen {
		t.Fatalf("%q: accepted a candidate of %d bytes", in, len(m.Payload))
	}
	want := data[key]
	if !bytes.Equal(compact(t, m.Payload), compact(t, want)) || !bytes.Equal(m.Payload, want) {
		mismatch("%q: Payload %s, encoding/json reads %s", in, m.Payload, want)
	}
	var target string
	if err := json.Unmarshal(data["targetClientId"], &target); err != nil {
		mismatch("%q: accepted with targetClientId %s", in, data["targetClientId"])
	} else if id, ok := ParseClientID([]byte(target)); !ok || id != m.Target {
		mismatch("%q: Target %v, encoding/json reads targetClientId %q", in, m.Target, target)
	}

	out := AppendRelay(nil, m.Event, m.Target, m.Payload)
	var relayed struct {
		Event string                     `json:"event"`
		Data  map[string]json.RawMessage `json:"data"`
	}
	if !json.Valid(out) {
		t.Fatalf("%q: AppendRelay gives invalid JSON %q", in, out)
	}
	if err := json.Unmarshal(out, &relayed); err != nil || relayed.Event != m.Event.String() || !bytes.Equal(relayed.Data[key], m.Payload) {
		t.Fatalf("%q: AppendRelay gives %s (%v)", in, out, err)
	}
}

func checkJoin(t *testing.T, in []byte, m *Message, data map[string]json.RawMessage, mismatch func(string, ...any)) {
	if raw := data["roomId"]; raw == nil || string(raw) == "null" {
		if m.RoomID != nil {
			mismatch("%q: RoomID %q, but encoding/json reads roomId %s", in, m.RoomID, raw)
		}
	} else {
		var id string
		if err := json.Unmarshal(raw, &id); err != nil || id != string(m.RoomID) {
			mismatch("%q: RoomID %q, but encoding/json reads roomId %s", in, m.RoomID, raw)
		}
	}
	if m.RoomID != nil && (!ValidRoomID(m.RoomID) || !isSubslice(in, m.RoomID)) {
		t.Fatalf("%q: RoomID %q is invalid or a copy", in, m.RoomID)
	}

	if raw := data["roomName"]; raw == nil || string(raw) == "null" {
		if m.RoomName != nil {
			mismatch("%q: RoomName %q, but encoding/json reads roomName %s", in, m.RoomName, raw)
		}
	} else if !bytes.Equal(m.RoomName, raw) {
		mismatch("%q: RoomName %q, but encoding/json reads roomName %s", in, m.RoomName, raw)
	}
	if m.RoomName == nil {
		return
	}
	var name string
	if err := json.Unmarshal(m.RoomName, &name); err != nil || m.RoomName[0] != '"' || !isSubslice(in, m.RoomName) {
		t.Fatalf("%q: RoomName %q is not a JSON string token from the input (%v)", in, m.RoomName, err)
	}
	if n := utf8.RuneCountInString(name); n > MaxRoomNameLen {
		t.Fatalf("%q: accepted a roomName of %d characters", in, n)
	}
}

func equalMessages(a, b *Message) bool {
	return a.Event == b.Event && a.Target == b.Target && bytes.Equal(a.RoomID, b.RoomID) &&
		a.Seq == b.Seq && a.LastSeq == b.LastSeq && a.ClientID == b.ClientID && a.ResumeToken == b.ResumeToken &&
		bytes.Equal(a.RoomName, b.RoomName) && bytes.Equal(a.Payload, b.Payload) &&
		(a.RoomID == nil) == (b.RoomID == nil) && (a.RoomName == nil) == (b.RoomName == nil) && (a.Payload == nil) == (b.Payload == nil)
}

func compact(t *testing.T, v []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		t.Fatalf("compact %q: %v", v, err)
	}
	return buf.Bytes()
}

// nesting is the deepest nesting of arrays and objects in b, which need not
// be valid JSON.
func nesting(b []byte) int {
	depth, deepest := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ']', '}':
			depth--
		}
	}
	return deepest
}

// keyCount counts the members of the top-level object of valid JSON b whose
// key, once unescaped, is key.
func keyCount(b []byte, key string) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		if tok == key {
			n++
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return n
		}
	}
	return n
}

func TestFuzzHelpers(t *testing.T) {
	nestings := []struct {
		in   string
		want int
	}{
		{`1`, 0}, {`{}`, 1}, {`[[],[[]]]`, 3}, {`{"a":"[[[\"{{"}`, 1}, {`["\\",["\\\""]]`, 2},
	}
	for _, tc := range nestings {
		if got := nesting([]byte(tc.in)); got != tc.want {
			t.Errorf("nesting(%s) = %d, want %d", tc.in, got, tc.want)
		}
	}
	counts := []struct {
		in   string
		want int
	}{
		{`{}`, 0}, {`[{"data":1}]`, 0}, {`{"data":1}`, 1}, {`{"data":{"data":1},"\u0064ata":[],"x":"data"}`, 2},
	}
	for _, tc := range counts {
		if got := keyCount([]byte(tc.in), "data"); got != tc.want {
			t.Errorf("keyCount(%s) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestDecodeDeepNesting: nesting is bounded at MaxDepth levels, counting the
// message's own two objects; deeper JSON, valid or not, is a bad-request that
// says why, never bad-json.
func TestDecodeDeepNesting(t *testing.T) {
	cases := []struct {
		name  string
		depth int // of the payload, inside the message's two objects
		code  Code
	}{
		{"payload nested 100 deep", 100, ""},
		{"message nested 256 deep", MaxDepth - 2, ""},
		{"message nested 257 deep", MaxDepth - 1, CodeBadRequest},
		{"payload nested 1000 deep", 1000, CodeBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			payload := strings.Repeat("[", tc.depth) + strings.Repeat("]", tc.depth)
			in := []byte(relayMessage(EventOffer, peerID, payload))
			var m Message
			p := Decode(in, &m)
			if p.Code != tc.code {
				t.Fatalf("Decode = %+v, want code %q", p, tc.code)
			}
			if p.OK() && string(m.Payload) != payload {
				t.Fatalf("Payload %.20q…", m.Payload)
			}
			if !p.OK() && !strings.Contains(p.Message, "deeper") {
				t.Fatalf("message %q should say why", p.Message)
			}
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "say \"hi\"\\", "\x00\x1f\x7f", "é漢😀", "\xff\xed\xa0\x80\xf4\x90\x80\x80", "\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkStringToken(t, s, AppendString(nil, s))
	})
}

var uuidText = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func FuzzParseClientID(f *testing.F) {
	for _, s := range []string{peerID, peerIDUpper, peerIDMixed, "", peerID[:35], strings.ReplaceAll(peerID, "-", "")} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		id, ok := ParseClientID(s)
		if ok != uuidText.Match(s) {
			t.Fatalf("ParseClientID(%q) ok = %v", s, ok)
		}
		if ok && id.String() != strings.ToLower(string(s)) {
			t.Fatalf("ParseClientID(%q) = %v", s, id)
		}
	})
}
