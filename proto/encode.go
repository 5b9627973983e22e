package proto

import "unicode/utf8"

// The Append functions write one whole server message, as JSON, to dst and
// return the extended slice. They allocate only when dst must grow, so a
// caller that reuses its buffer encodes without allocating.

func appendHead(dst []byte, e Event) []byte {
	dst = append(dst, `{"event":"`...)
	dst = append(dst, eventNames[e]...)
	return append(dst, `","data":{`...)
}

func appendID(dst []byte, id ClientID) []byte {
	dst = append(dst, '"')
	dst = id.AppendText(dst)
	return append(dst, '"')
}

func appendIDs(dst []byte, ids []ClientID) []byte {
	dst = append(dst, '[')
	for i, id := range ids {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendID(dst, id)
	}
	return append(dst, ']')
}

// AppendClientID encodes client-id, the first message on every connection.
func AppendClientID(dst []byte, id ClientID) []byte {
	dst = appendHead(dst, EventClientID)
	dst = append(dst, `"clientId":`...)
	dst = appendID(dst, id)
	return append(dst, "}}"...)
}

// AppendRoomCreated encodes room-created. roomID holds only characters that
// need no escaping (see ValidRoomID); roomName is a JSON string token.
func AppendRoomCreated(dst []byte, roomID, roomName string) []byte {
	dst = appendHead(dst, EventRoomCreated)
	dst = appendRoom(dst, roomID)
	dst = append(dst, `,"roomName":`...)
	dst = append(dst, roomName...)
	return append(dst, "}}"...)
}

// AppendRoomJoined encodes room-joined with the members in join order.
func AppendRoomJoined(dst []byte, roomID, roomName string, participants []ClientID) []byte {
	dst = appendHead(dst, EventRoomJoined)
	dst = appendRoom(dst, roomID)
	dst = append(dst, `,"roomName":`...)
	dst = append(dst, roomName...)
	dst = append(dst, `,"participants":`...)
	dst = appendIDs(dst, participants)
	return append(dst, "}}"...)
}

// AppendParticipants encodes participants, sent to every member on each change.
func AppendParticipants(dst []byte, roomID string, participants []ClientID) []byte {
	dst = appendHead(dst, EventParticipants)
	dst = appendRoom(dst, roomID)
	dst = append(dst, `,"participants":`...)
	dst = appendIDs(dst, participants)
	return append(dst, "}}"...)
}

// AppendRoomLeft encodes room-left, the answer to leave-room.
func AppendRoomLeft(dst []byte, roomID string) []byte {
	dst = appendHead(dst, EventRoomLeft)
	dst = appendRoom(dst, roomID)
	return append(dst, "}}"...)
}

func appendRoom(dst []byte, roomID string) []byte {
	dst = append(dst, `"roomId":"`...)
	dst = append(dst, roomID...)
	return append(dst, '"')
}

// AppendRelay encodes an offer, answer or ice-candidate for its target. The
// payload is the sender's raw JSON value, passed through byte for byte.
func AppendRelay(dst []byte, e Event, from ClientID, payload []byte) []byte {
	dst = appendHead(dst, e)
	dst = append(dst, `"fromClientId":`...)
	dst = appendID(dst, from)
	dst = append(dst, ',', '"')
	dst = append(dst, e.payloadKey()...)
	dst = append(dst, '"', ':')
	dst = append(dst, payload...)
	return append(dst, "}}"...)
}

// AppendPong encodes pong, the answer to the application-level ping.
func AppendPong(dst []byte) []byte {
	return append(dst, `{"event":"pong","data":{}}`...)
}

// AppendError encodes an error event. cause is the event that caused it, or
// EventUnknown to leave the event field out.
func AppendError(dst []byte, code Code, message string, cause Event) []byte {
	dst = appendHead(dst, EventError)
	dst = append(dst, `"code":"`...)
	dst = append(dst, code...)
	dst = append(dst, `","message":`...)
	dst = AppendString(dst, message)
	if cause != EventUnknown {
		dst = append(dst, `,"event":"`...)
		dst = append(dst, eventNames[cause]...)
		dst = append(dst, '"')
	}
	return append(dst, "}}"...)
}

// AppendString appends s as a JSON string token.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, `\u00`...)
			dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
		i++
	}
	return append(dst, '"')
}
