package proto

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
	// Token is the join-room token's characters (a JWT needs no escaping),
	// nil when the client left it out.
	Token []byte
	// Target and Payload are set for offer, answer and ice-candidate.
	Target ClientID
	// Payload is the raw JSON value of the offer, answer or candidate field.
	Payload []byte
	// Seq is the ack's seq, and LastSeq the resume's lastSeq.
	Seq, LastSeq uint64
	// ClientID and ResumeToken are the resume's session and its proof.
	ClientID    ClientID
	ResumeToken ResumeToken
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
	f, ok, isObject, tooDeep := scanMessage(b)
	switch {
	case tooDeep:
		return problem(EventUnknown, CodeBadRequest, "message nests deeper than 256 levels")
	case !ok:
		return problem(EventUnknown, CodeBadJSON, "message is not valid JSON")
	case !isObject:
		return problem(EventUnknown, CodeBadRequest, "message must be a JSON object")
	case f.event == nil:
		return problem(EventUnknown, CodeBadRequest, "event is missing")
	case f.event[0] != '"':
		return problem(EventUnknown, CodeBadRequest, "event must be a string")
	}
	m.Event = lookupClientEvent(f.event[1 : len(f.event)-1])
	if m.Event == EventUnknown {
		return problem(EventUnknown, CodeUnknownEvent, "unknown event")
	}
	if f.data != nil && f.data[0] != '{' {
		if !isNull(f.data) {
			return problem(m.Event, CodeBadRequest, "data must be a JSON object")
		}
		f = fields{} // data: null carries no fields
	}
	switch m.Event {
	case EventJoinRoom:
		return m.decodeJoin(&f)
	case EventOffer:
		return m.decodeRelay(f.target, f.offer, "offer is missing")
	case EventAnswer:
		return m.decodeRelay(f.target, f.answer, "answer is missing")
	case EventICECandidate:
		return m.decodeRelay(f.target, f.candidate, "candidate is missing")
	case EventAck:
		return m.decodeAck(&f)
	case EventResume:
		return m.decodeResume(&f)
	}
	return Problem{}
}

func isNull(v []byte) bool { return string(v) == "null" }

func (m *Message) decodeJoin(f *fields) Problem {
	if f.roomID != nil && !isNull(f.roomID) {
		if f.roomID[0] != '"' || !ValidRoomID(f.roomID[1:len(f.roomID)-1]) {
			return problem(EventJoinRoom, CodeBadRequest, "roomId must be a string of 1-64 characters from A-Z a-z 0-9 _ . : -")
		}
		m.RoomID = f.roomID[1 : len(f.roomID)-1]
	}
	if f.roomName != nil && !isNull(f.roomName) {
		if f.roomName[0] != '"' || stringLen(f.roomName[1:len(f.roomName)-1]) > MaxRoomNameLen {
			return problem(EventJoinRoom, CodeBadRequest, "roomName must be a string of at most 64 characters")
		}
		m.RoomName = f.roomName
	}
	return m.decodeToken(f.token)
}

func (m *Message) decodeRelay(target, payload []byte, missing string) Problem {
	if target == nil || target[0] != '"' {
		return problem(m.Event, CodeBadRequest, "targetClientId must be a client id string")
	}
	id, ok := ParseClientID(target[1 : len(target)-1])
	if !ok {
		return problem(m.Event, CodeBadRequest, "targetClientId is not a valid client id")
	}
	m.Target = id
	if payload == nil || isNull(payload) {
		return problem(m.Event, CodeBadRequest, missing)
	}
	if m.Event == EventICECandidate && len(payload) > MaxCandidateLen {
		return problem(m.Event, CodeBadRequest, "candidate must be at most 4096 bytes")
	}
	m.Payload = payload
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
