package proto

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// The scanner validates a message's JSON and finds the fields RedRTC needs in
// one pass, returning byte ranges of the original message; that is how
// payloads are forwarded without being copied or re-encoded. Up to MaxDepth
// levels of nesting it accepts exactly what encoding/json.Valid accepts
// (FuzzScan checks this), and it is several times faster on the long strings
// that SDP payloads are.

// MaxDepth bounds nesting, so that a message of brackets cannot make the
// scanner recurse deep; deeper JSON is refused as bad-request.
const MaxDepth = 256

// fields are the raw value tokens a client message may carry; nil when absent.
type fields struct {
	event, data                                        []byte
	roomID, roomName, target, offer, answer, candidate []byte
	token                                              []byte
	// clientID, resumeToken, lastSeq and seq serve resume and ack.
	clientID, resumeToken, lastSeq, seq []byte
}

type scanner struct {
	b     []byte
	i     int
	depth int
	bad   bool
	// tooDeep is set when scanning stopped at MaxDepth.
	tooDeep bool
	f       fields // what scanMessage records
}

// scanMessage validates b and, when it is an object, records its fields.
// ok is false for invalid JSON; isObject tells whether b is an object.
// tooDeep tells that b is refused only for nesting past MaxDepth.
func scanMessage(b []byte) (f fields, ok, isObject, tooDeep bool) {
	s := scanner{b: b}
	s.space()
	isObject = s.i < len(b) && b[s.i] == '{'
	if isObject {
		s.object(inMessage)
	} else {
		s.value()
	}
	s.space()
	return s.f, !s.bad && s.i == len(b), isObject, s.tooDeep
}

// Where an object is, which decides the members to record.
const (
	inValue   = iota // anywhere else: nothing is recorded
	inMessage        // the message itself: event and data
	inData           // the message's data: the fields of every event
)

// member scans one member's value, recording it when where calls for it.
func (s *scanner) member(where int, key []byte) {
	start := s.i
	if where == inMessage && keyIs(key, "data") && start < len(s.b) && s.b[start] == '{' {
		// With a repeated data key the last one wins, as in encoding/json.
		s.f = fields{event: s.f.event}
		s.object(inData)
	} else {
		s.value()
	}
	v := s.b[start:s.i]
	f := &s.f
	switch where {
	case inMessage:
		switch {
		case keyIs(key, "event"):
			f.event = v
		case keyIs(key, "data"):
			f.data = v
		}
	case inData:
		switch {
		case keyIs(key, "roomId"):
			f.roomID = v
		case keyIs(key, "roomName"):
			f.roomName = v
		case keyIs(key, "targetClientId"):
			f.target = v
		case keyIs(key, "offer"):
			f.offer = v
		case keyIs(key, "answer"):
			f.answer = v
		case keyIs(key, "candidate"):
			f.candidate = v
		case keyIs(key, "token"):
			f.token = v
		case keyIs(key, "clientId"):
			f.clientID = v
		case keyIs(key, "resumeToken"):
			f.resumeToken = v
		case keyIs(key, "lastSeq"):
			f.lastSeq = v
		case keyIs(key, "seq"):
			f.seq = v
		}
	}
}

func (s *scanner) fail() {
	s.bad = true
	s.i = len(s.b)
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans any JSON value.
func (s *scanner) value() {
	if s.i >= len(s.b) {
		s.fail()
		return
	}
	switch c := s.b[s.i]; {
	case c == '{':
		s.object(inValue)
	case c == '[':
		s.array()
	case c == '"':
		s.str()
	case c == '-' || (c >= '0' && c <= '9'):
		s.number()
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	default:
		s.fail()
	}
}

// object scans an object; where says which of its members to record.
func (s *scanner) object(where int) {
	if !s.open('}') {
		return
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			s.fail()
			return
		}
		start := s.i
		s.str()
		key := s.b[start+1 : max(s.i-1, start+1)]
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			s.fail()
			return
		}
		s.i++
		s.space()
		s.member(where, key)
		if !s.more('}') {
			return
		}
	}
}

func (s *scanner) array() {
	if !s.open(']') {
		return
	}
	for {
		s.value()
		if !s.more(']') {
			return
		}
	}
}

// open enters the object or array at s.i and reports whether it has members
// to scan; an empty one is consumed whole.
func (s *scanner) open(end byte) bool {
	if s.depth++; s.depth > MaxDepth {
		s.tooDeep = true
		s.fail()
		return false
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == end {
		s.i++
		s.depth--
		return false
	}
	return true
}

// more consumes the separator after a member and reports whether another
// follows; it consumes the end of the container when none does.
func (s *scanner) more(end byte) bool {
	s.space()
	switch {
	case s.bad || s.i >= len(s.b):
		s.fail()
		return false
	case s.b[s.i] == ',':
		s.i++
		s.space()
		return true
	case s.b[s.i] == end:
		s.i++
		s.depth--
		return false
	}
	s.fail()
	return false
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// str scans a string token, eight bytes at a time between escapes.
func (s *scanner) str() {
	b := s.b
	i := s.i + 1
	for {
		for i+8 <= len(b) {
			m := hasSpecial(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
			break
		}
		if i >= len(b) {
			s.fail()
			return
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return
		case c == '\\':
			if i+1 >= len(b) {
				s.fail()
				return
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || hexRune(b[i+2:i+6]) < 0 {
					s.fail()
					return
				}
				i += 6
			default:
				s.fail()
				return
			}
		case c < 0x20:
			s.fail()
			return
		default:
			i++
		}
	}
}

// hasSpecial sets the top bit of each byte of w (eight string bytes, loaded
// little-endian: the first is lowest) that ends a run str can skip: a quote,
// a backslash or a control character. Bytes >= 0x80 are masked out, as the
// subtractions would misreport them and UTF-8 is checked elsewhere. A borrow
// can also flag a byte above a flagged one, so only the lowest flag is
// exact: str takes that one (TrailingZeros64) and looks at the byte itself.
func hasSpecial(w uint64) uint64 {
	quote := w ^ (lsb * '"')
	slash := w ^ (lsb * '\\')
	ctl := (w - lsb*0x20) &^ w
	return (ctl | ((quote - lsb) &^ quote) | ((slash - lsb) &^ slash)) & msb
}

func (s *scanner) number() {
	b := s.b
	i := s.i
	if b[i] == '-' {
		i++
	}
	digits := func() int {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - start
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		s.fail()
		return
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			s.fail()
			return
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			s.fail()
			return
		}
	}
	s.i = i
}

func (s *scanner) literal(lit string) {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		s.fail()
		return
	}
	s.i += len(lit)
}

// keyIs compares a raw key token with a plain ASCII name, decoding the escapes
// a JSON encoder may legally use (e.g. "\u0065vent").
func keyIs(raw []byte, name string) bool {
	if len(raw) == len(name) && string(raw) == name {
		return true
	}
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' && i+1 < len(raw) {
			i++
			switch raw[i] {
			case 'u':
				if i+4 >= len(raw) {
					return false
				}
				r := hexRune(raw[i+1 : i+5])
				if r < 0 || r >= utf8.RuneSelf {
					return false
				}
				c = byte(r)
				i += 4
			case '"', '\\', '/':
				c = raw[i]
			default:
				return false // \b \f \n \r \t never appear in our field names
			}
		}
		if j >= len(name) || name[j] != c {
			return false
		}
		j++
	}
	return j == len(name)
}

func hexRune(h []byte) rune {
	var r rune
	for _, c := range h {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return -1
		}
	}
	return r
}

// stringLen counts the characters of a raw string token's contents (quotes
// excluded), decoding escapes; a surrogate pair counts as one character.
func stringLen(raw []byte) int {
	n := 0
	for i := 0; i < len(raw); {
		if raw[i] == '\\' {
			if raw[i+1] == 'u' && i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				r, r2 := hexRune(raw[i+2:i+6]), hexRune(raw[i+8:i+12])
				if r >= 0xD800 && r < 0xDC00 && r2 >= 0xDC00 && r2 < 0xE000 {
					i += 12 // high and low surrogate
					n++
					continue
				}
			}
			if raw[i+1] == 'u' {
				i += 6
			} else {
				i += 2
			}
			n++
			continue
		}
		_, size := utf8.DecodeRune(raw[i:])
		i += size
		n++
	}
	return n
}
