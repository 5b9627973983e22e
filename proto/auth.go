package proto

// CodeUnauthorized answers a join-room without a valid token for the room
// when access tokens are on; the connection stays open.
const CodeUnauthorized Code = "unauthorized"

// MaxTokenLen caps a join-room token in bytes, far above any room token.
const MaxTokenLen = 4 << 10

// decodeToken records join-room's token: a JSON string without escapes,
// since a JWT is made of base64url characters and dots.
func (m *Message) decodeToken(tok []byte) Problem {
	if tok == nil || isNull(tok) {
		return Problem{}
	}
	if tok[0] != '"' || len(tok) > MaxTokenLen+2 {
		return problem(EventJoinRoom, CodeBadRequest, "token must be a string of at most 4096 bytes")
	}
	inner := tok[1 : len(tok)-1]
	for _, c := range inner {
		if c == '\\' || c >= 0x80 {
			return problem(EventJoinRoom, CodeUnauthorized, "token is malformed")
		}
	}
	m.Token = inner
	return Problem{}
}

// ICEServers is the iceServers of room-joined: the STUN URIs, and the TURN
// URIs with their username and credential. Empty fields are left out.
type ICEServers struct {
	STUN, TURN           []string
	Username, Credential []byte
}

// AppendRoomJoinedICE encodes room-joined with an iceServers member, an
// array ready for new RTCPeerConnection({iceServers}).
func AppendRoomJoinedICE(dst []byte, roomID, roomName string, participants []ClientID, ice *ICEServers) []byte {
	dst = AppendRoomJoined(dst, roomID, roomName, participants)
	dst = dst[:len(dst)-2] // reopen data, which "}}" closed
	dst = append(dst, `,"iceServers":[`...)
	if len(ice.STUN) > 0 {
		dst = append(dst, `{"urls":`...)
		dst = appendStrings(dst, ice.STUN)
		dst = append(dst, '}')
	}
	if len(ice.TURN) > 0 {
		if len(ice.STUN) > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"urls":`...)
		dst = appendStrings(dst, ice.TURN)
		dst = append(dst, `,"username":`...)
		dst = appendBytesString(dst, ice.Username)
		dst = append(dst, `,"credential":`...)
		dst = appendBytesString(dst, ice.Credential)
		dst = append(dst, '}')
	}
	return append(dst, "]}}"...)
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, s)
	}
	return append(dst, ']')
}

// appendBytesString is AppendString for bytes, without converting them to
// a string (which would allocate).
func appendBytesString(dst, b []byte) []byte {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return AppendString(dst, string(b))
		}
	}
	dst = append(dst, '"')
	dst = append(dst, b...)
	return append(dst, '"')
}
