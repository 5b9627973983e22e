package proto

import (
	"encoding/json"
)

// Message is a decoded client message. Its byte slices point into the buffer
// passed to Decode and are valid only as long as that buffer is.
type Message struct {
	Event Event
	// RoomID is the join-room roomId; nil when the client left it out.
	RoomID []byte
	// RoomName is the join-room roomName as a raw JSON string token, quotes
	// included, so that it can be sent back out without re-encoding; nil when
	// the client left it out.
	RoomName []byte
	// Target and Payload are set for offer, answer and ice-candidate.
	Target ClientID
	// Payload is the raw JSON value of the offer, answer or candidate field.
	Payload []byte
}

// Problem is why a message was rejected. Its Message is a constant, so that
// rejecting input allocates nothing.
type Problem struct {
	Code    Code
	Message string
	// Event is the event the rejected message named, when it named a known one.
	Event Event
}

// OK reports whether there is no problem.
func (p Problem) OK() bool { return p.Code == "" }

func problem(e Event, c Code, msg string) Problem { return Problem{Code: c, Message: msg, Event: e} }

// Decode parses one client message into m. Unknown top-level fields and
// unknown data fields are ignored; a missing or null data counts as {}.
func Decode(b []byte, m *Message) Problem {
	*m = Message{}
	if !json.Valid(b) {
		return problem(EventUnknown, CodeBadJSON, "message is not valid JSON")
	}
	i := skipSpace(b, 0)
	if b[i] != '{' {
		return problem(EventUnknown, CodeBadRequest, "message must be a JSON object")
	}
	var event, data []byte
	it := newObjectIter(b[i:skipValue(b, i)])
	for f, ok := it.next(); ok; f, ok = it.next() {
		switch {
		case keyIs(f.key, "event"):
			event = f.value
		case keyIs(f.key, "data"):
			data = f.value
		}
	}
	if event == nil {
		return problem(EventUnknown, CodeBadRequest, "event is missing")
	}
	if event[0] != '"' {
		return problem(EventUnknown, CodeBadRequest, "event must be a string")
	}
	m.Event = lookupClientEvent(event[1 : len(event)-1])
	if m.Event == EventUnknown {
		return problem(EventUnknown, CodeUnknownEvent, "unknown event")
	}
	if data != nil && string(data) != "null" && data[0] != '{' {
		return problem(m.Event, CodeBadRequest, "data must be a JSON object")
	}
	switch m.Event {
	case EventJoinRoom:
		return m.decodeJoin(data)
	case EventOffer, EventAnswer, EventICECandidate:
		return m.decodeRelay(data)
	}
	return Problem{}
}

func (m *Message) decodeJoin(data []byte) Problem {
	if data == nil || data[0] != '{' {
		return Problem{}
	}
	it := newObjectIter(data)
	for f, ok := it.next(); ok; f, ok = it.next() {
		switch {
		case keyIs(f.key, "roomId"):
			if string(f.value) == "null" {
				m.RoomID = nil
				continue
			}
			if f.value[0] != '"' || !ValidRoomID(f.value[1:len(f.value)-1]) {
				return problem(EventJoinRoom, CodeBadRequest, "roomId must be a string of 1-64 characters from A-Z a-z 0-9 _ . : -")
			}
			m.RoomID = f.value[1 : len(f.value)-1]
		case keyIs(f.key, "roomName"):
			if string(f.value) == "null" {
				m.RoomName = nil
				continue
			}
			if f.value[0] != '"' || stringLen(f.value[1:len(f.value)-1]) > MaxRoomNameLen {
				return problem(EventJoinRoom, CodeBadRequest, "roomName must be a string of at most 64 characters")
			}
			m.RoomName = f.value
		}
	}
	return Problem{}
}

func (m *Message) decodeRelay(data []byte) Problem {
	key := m.Event.payloadKey()
	var target []byte
	if data != nil && data[0] == '{' {
		it := newObjectIter(data)
		for f, ok := it.next(); ok; f, ok = it.next() {
			switch {
			case keyIs(f.key, "targetClientId"):
				target = f.value
			case keyIs(f.key, key):
				m.Payload = f.value
			}
		}
	}
	if target == nil || target[0] != '"' {
		return problem(m.Event, CodeBadRequest, "targetClientId must be a client id string")
	}
	id, ok := ParseClientID(target[1 : len(target)-1])
	if !ok {
		return problem(m.Event, CodeBadRequest, "targetClientId is not a valid client id")
	}
	m.Target = id
	if m.Payload == nil || string(m.Payload) == "null" {
		m.Payload = nil
		switch m.Event {
		case EventOffer:
			return problem(m.Event, CodeBadRequest, "offer is missing")
		case EventAnswer:
			return problem(m.Event, CodeBadRequest, "answer is missing")
		default:
			return problem(m.Event, CodeBadRequest, "candidate is missing")
		}
	}
	return Problem{}
}

// ValidRoomID reports whether id is 1-64 bytes of [A-Za-z0-9_.:-].
func ValidRoomID(id []byte) bool {
	if len(id) == 0 || len(id) > MaxRoomIDLen {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '.', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}
