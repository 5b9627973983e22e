// Package proto is RedRTC's wire protocol: event names, error codes, and the
// zero-allocation decoding and encoding of its JSON messages.
package proto

// Event identifies a message type. The zero value is EventUnknown.
type Event uint8

// Events, in both directions. docs/protocol.md is the contract for each.
const (
	EventUnknown Event = iota
	EventClientID
	EventJoinRoom
	EventRoomCreated
	EventRoomJoined
	EventParticipants
	EventLeaveRoom
	EventRoomLeft
	EventOffer
	EventAnswer
	EventICECandidate
	EventPing
	EventPong
	EventError
	EventAck
	EventResume
	EventResumed
	eventCount
)

var eventNames = [eventCount]string{
	EventUnknown:      "",
	EventClientID:     "client-id",
	EventJoinRoom:     "join-room",
	EventRoomCreated:  "room-created",
	EventRoomJoined:   "room-joined",
	EventParticipants: "participants",
	EventLeaveRoom:    "leave-room",
	EventRoomLeft:     "room-left",
	EventOffer:        "offer",
	EventAnswer:       "answer",
	EventICECandidate: "ice-candidate",
	EventPing:         "ping",
	EventPong:         "pong",
	EventError:        "error",
	EventAck:          "ack",
	EventResume:       "resume",
	EventResumed:      "resumed",
}

// String returns the event's wire name.
func (e Event) String() string {
	if e >= eventCount {
		return ""
	}
	return eventNames[e]
}

// payloadKey is the data field that carries the forwarded SDP or candidate.
func (e Event) payloadKey() string {
	switch e {
	case EventOffer:
		return "offer"
	case EventAnswer:
		return "answer"
	case EventICECandidate:
		return "candidate"
	}
	return ""
}

// clientEvents are the events a client may send; the others are server-only.
var clientEvents = [...]Event{EventJoinRoom, EventLeaveRoom, EventOffer, EventAnswer, EventICECandidate, EventPing, EventAck, EventResume}

func lookupClientEvent(name []byte) Event {
	for _, e := range clientEvents {
		if string(name) == eventNames[e] {
			return e
		}
	}
	return EventUnknown
}

// Code is an error code carried by the error event.
type Code string

// Error codes. After any of them the connection stays open, except
// server-full (close 1013 follows) and join-timeout (close 1008 follows), as
// docs/protocol.md says; a rate-kick, an oversized queue or a malformed
// frame ends a connection with a close code alone, no error event.
const (
	CodeBadJSON        Code = "bad-json"
	CodeBadRequest     Code = "bad-request"
	CodeUnknownEvent   Code = "unknown-event"
	CodeNotInRoom      Code = "not-in-room"
	CodeTargetNotFound Code = "target-not-found"
	CodeRoomFull       Code = "room-full"
	CodeRoomLimit      Code = "room-limit"
	CodeServerFull     Code = "server-full"
	CodeRateLimited    Code = "rate-limited"
	// CodeJoinTimeout precedes close code 1008 for a client that joined no
	// room in time.
	CodeJoinTimeout Code = "join-timeout"
	// CodeRoomClosed tells each member of a room an operator closed that it
	// has left the room; the connection stays open.
	CodeRoomClosed Code = "room-closed"
	// CodeResumeFailed answers a resume that cannot take its session over;
	// the connection carries on as the fresh client it was.
	CodeResumeFailed Code = "resume-failed"
	// CodeClusterUnavailable answers a join, or a relay to a member on
	// another node, that needs the cluster while this node cannot reach it
	// (docs/cluster.md); the connection stays open.
	CodeClusterUnavailable Code = "cluster-unavailable"
)

// Limits the protocol itself sets on fields.
const (
	MaxRoomIDLen   = 64 // bytes of [A-Za-z0-9_.:-]
	MaxRoomNameLen = 64 // characters
	// MaxCandidateLen caps an ice-candidate's payload in bytes; an offer or
	// answer is capped only by the whole message's size.
	MaxCandidateLen = 4 << 10
)
