package proto

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

var canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewClientID(t *testing.T) {
	const n = 2000
	seen := make(map[ClientID]bool, n)
	var ones, zeros ClientID // bits seen set, and seen clear, across all ids
	for range n {
		id, err := NewClientID()
		if err != nil {
			t.Fatalf("NewClientID: %v", err)
		}
		if v := id[6] >> 4; v != 4 {
			t.Fatalf("%v has version %d, want 4", id, v)
		}
		if v := id[8] >> 6; v != 0b10 {
			t.Fatalf("%v has variant bits %02b, want 10", id, v)
		}
		if s := id.String(); !canonicalUUID.MatchString(s) {
			t.Fatalf("%q is not a canonical version-4 UUID", s)
		}
		if seen[id] {
			t.Fatalf("NewClientID returned %v twice", id)
		}
		seen[id] = true
		for i := range id {
			ones[i] |= id[i]
			zeros[i] |= ^id[i]
		}
	}
	// Every bit that is not fixed by the version and variant must vary.
	fixedOnes := ClientID{6: 0x40, 8: 0x80}
	fixedZeros := ClientID{6: 0xb0, 8: 0x40}
	for i := range ones {
		if want := 0xff &^ fixedZeros[i]; ones[i] != want {
			t.Errorf("byte %d: bits set across %d ids = %08b, want %08b", i, n, ones[i], want)
		}
		if want := 0xff &^ fixedOnes[i]; zeros[i] != want {
			t.Errorf("byte %d: bits clear across %d ids = %08b, want %08b", i, n, zeros[i], want)
		}
	}
}

func TestClientIDText(t *testing.T) {
	cases := []struct {
		name string
		id   ClientID
		text string
	}{
		{"zero", ClientID{}, "00000000-0000-0000-0000-000000000000"},
		{"all ones", ClientID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			"ffffffff-ffff-ffff-ffff-ffffffffffff"},
		{"counting bytes", ClientID{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
			"00010203-0405-0607-0809-0a0b0c0d0e0f"},
		{"every hex digit", idA, "00112233-4455-4677-8899-aabbccddeeff"},
		{"peer", peer, peerID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.id.String(); got != tc.text {
				t.Errorf("String() = %q, want %q", got, tc.text)
			}
			if got := tc.id.AppendText([]byte("id=")); string(got) != "id="+tc.text {
				t.Errorf("AppendText(\"id=\") = %q, want %q", got, "id="+tc.text)
			}
			for _, spelling := range []string{tc.text, strings.ToUpper(tc.text)} {
				got, ok := ParseClientID([]byte(spelling))
				if !ok || got != tc.id {
					t.Errorf("ParseClientID(%q) = %v, %v; want %v, true", spelling, got, ok, tc.id)
				}
			}
		})
	}
}

func TestClientIDRoundTrip(t *testing.T) {
	for range 500 {
		id, err := NewClientID()
		if err != nil {
			t.Fatal(err)
		}
		text := id.AppendText(nil)
		if string(text) != id.String() {
			t.Fatalf("AppendText %q and String %q differ", text, id.String())
		}
		for _, s := range [][]byte{text, bytes.ToUpper(text)} {
			if got, ok := ParseClientID(s); !ok || got != id {
				t.Fatalf("ParseClientID(%q) = %v, %v; want %v, true", s, got, ok, id)
			}
		}
	}
}

func TestParseClientIDRejects(t *testing.T) {
	cases := []struct{ name, in string }{
		{"empty", ""},
		{"one short", peerID[:35]},
		{"one long", peerID + "0"},
		{"trailing newline", peerID + "\n"},
		{"leading space", " " + peerID[1:]},
		{"no dashes", strings.ReplaceAll(peerID, "-", "")},
		{"no dashes, padded to length", strings.ReplaceAll(peerID, "-", "") + "0000"},
		{"dashes shifted left", "2f1c7a9-e3b4d-4e5f-8a6b-7c8d9e0f1a2b"},
		{"dashes shifted right", "2f1c7a9e3-b4d-4e5f-8a6b-7c8d9e0f1a2b"},
		{"dash group sizes 4-8", "2f1c-7a9e3b4d-4e5f-8a6b-7c8d9e0f1a2b"},
		{"dash replaced by hex", strings.Replace(peerID, "-", "0", 1)},
		{"underscore separators", strings.ReplaceAll(peerID, "-", "_")},
		{"braces", "{" + peerID[1:35] + "}"},
		{"g", strings.Replace(peerID, "f", "g", 1)},
		{"G", strings.Replace(peerID, "f", "G", 1)},
		{"space in hex", strings.Replace(peerID, "7", " ", 1)},
		{"plus sign", strings.Replace(peerID, "3", "+", 1)},
		{"non-ASCII", strings.Replace(peerID, "2b", "é", 1)},
		{"all dashes", strings.Repeat("-", 36)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if id, ok := ParseClientID([]byte(tc.in)); ok {
				t.Errorf("ParseClientID(%q) = %v, true; want false", tc.in, id)
			}
		})
	}
	if _, ok := ParseClientID(nil); ok {
		t.Error("ParseClientID(nil) = true")
	}
}

// TestParseClientIDEveryByte tries every byte value at every position of a
// valid id: a dash position takes only '-', a digit position only hex digits.
func TestParseClientIDEveryByte(t *testing.T) {
	for pos := range len(peerID) {
		dash := pos == 8 || pos == 13 || pos == 18 || pos == 23
		for c := range 256 {
			s := []byte(peerID)
			s[pos] = byte(c)
			var want bool
			if dash {
				want = c == '-'
			} else {
				want = strings.IndexByte("0123456789abcdefABCDEF", byte(c)) >= 0
			}
			got, ok := ParseClientID(s)
			if ok != want {
				t.Fatalf("ParseClientID(%q) ok = %v, want %v", s, ok, want)
			}
			if ok && got.String() != strings.ToLower(string(s)) {
				t.Fatalf("ParseClientID(%q) = %v", s, got)
			}
		}
	}
}
