package proto

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strconv"
)

// ResumeTokenLen is a resume token's length in bytes: 128 bits.
const ResumeTokenLen = 16

// ResumeToken proves that a resume comes from the client a session was
// given to. On the wire it is 32 lower-case hex digits.
type ResumeToken [ResumeTokenLen]byte

// ResumeKey makes and checks resume tokens: HMAC-SHA256 (RFC 2104) under a
// server's secret of 256 bits from crypto/rand, drawn at start and never
// written anywhere. The key is kept as its two padded blocks, so that a
// token is two SHA-256 sums on the stack: no allocation per connection.
type ResumeKey struct {
	ipad, opad [sha256.BlockSize]byte
}

// NewResumeKey returns the key for secret, at most 64 bytes.
func NewResumeKey(secret []byte) *ResumeKey {
	k := &ResumeKey{}
	copy(k.ipad[:], secret)
	copy(k.opad[:], secret)
	for i := range k.ipad {
		k.ipad[i] ^= 0x36
		k.opad[i] ^= 0x5c
	}
	return k
}

// Token is the resume token bound to id: the first 128 bits of
// HMAC-SHA256(secret, id). Deriving it, rather than drawing and storing 16
// random bytes per client, costs an idle client no memory at all; without
// the secret it is as unguessable as a random one, and it is bound to the
// id by construction.
func (k *ResumeKey) Token(id ClientID) ResumeToken {
	var inner [sha256.BlockSize + len(id)]byte
	copy(inner[:], k.ipad[:])
	copy(inner[sha256.BlockSize:], id[:])
	sum := sha256.Sum256(inner[:])
	var outer [sha256.BlockSize + sha256.Size]byte
	copy(outer[:], k.opad[:])
	copy(outer[sha256.BlockSize:], sum[:])
	sum = sha256.Sum256(outer[:])
	var t ResumeToken
	copy(t[:], sum[:])
	return t
}

// Verify reports, in constant time, whether t is the token bound to id.
func (k *ResumeKey) Verify(id ClientID, t ResumeToken) bool {
	want := k.Token(id)
	return subtle.ConstantTimeCompare(want[:], t[:]) == 1
}

// AppendText appends the token's 32 hex digits.
func (t ResumeToken) AppendText(dst []byte) []byte {
	return hex.AppendEncode(dst, t[:])
}

// ParseResumeToken parses 32 hex digits.
func ParseResumeToken(b []byte) (ResumeToken, bool) {
	var t ResumeToken
	if len(b) != 2*ResumeTokenLen {
		return t, false
	}
	if _, err := hex.Decode(t[:], b); err != nil {
		return t, false
	}
	return t, true
}

// maxSeq is the largest seq a client may send: every integer up to it is
// exact in a JavaScript number.
const maxSeq = 1<<53 - 1

// parseSeq parses a non-negative integer token of at most maxSeq.
func parseSeq(v []byte) (uint64, bool) {
	if len(v) == 0 || len(v) > 16 || (v[0] == '0' && len(v) > 1) {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n <= maxSeq
}

func (m *Message) decodeAck(f *fields) Problem {
	n, ok := parseSeq(f.seq)
	if !ok {
		return problem(EventAck, CodeBadRequest, "seq must be an integer from 0 to 2^53-1")
	}
	m.Seq = n
	return Problem{}
}

func (m *Message) decodeResume(f *fields) Problem {
	if f.clientID == nil || f.clientID[0] != '"' {
		return problem(EventResume, CodeBadRequest, "clientId must be a client id string")
	}
	id, ok := ParseClientID(f.clientID[1 : len(f.clientID)-1])
	if !ok {
		return problem(EventResume, CodeBadRequest, "clientId is not a valid client id")
	}
	m.ClientID = id
	if f.resumeToken == nil || f.resumeToken[0] != '"' {
		return problem(EventResume, CodeBadRequest, "resumeToken must be a string of 32 hex digits")
	}
	if m.ResumeToken, ok = ParseResumeToken(f.resumeToken[1 : len(f.resumeToken)-1]); !ok {
		return problem(EventResume, CodeBadRequest, "resumeToken must be a string of 32 hex digits")
	}
	if m.LastSeq, ok = parseSeq(f.lastSeq); !ok {
		return problem(EventResume, CodeBadRequest, "lastSeq must be an integer from 0 to 2^53-1")
	}
	return Problem{}
}

// AppendClientIDToken encodes client-id with the session's resume token.
func AppendClientIDToken(dst []byte, id ClientID, t ResumeToken) []byte {
	dst = appendHead(dst, EventClientID)
	dst = append(dst, `"clientId":`...)
	dst = appendID(dst, id)
	dst = append(dst, `,"resumeToken":"`...)
	dst = t.AppendText(dst)
	return append(dst, `"}}`...)
}

// AppendResumed encodes resumed, the answer to a successful resume. roomID
// is empty when the session is in no room.
func AppendResumed(dst []byte, id ClientID, roomID string, participants []ClientID, missed, dropped uint64) []byte {
	dst = appendHead(dst, EventResumed)
	dst = append(dst, `"clientId":`...)
	dst = appendID(dst, id)
	if roomID == "" {
		dst = append(dst, `,"roomId":null,"participants":[]`...)
	} else {
		dst = append(dst, ',')
		dst = appendRoom(dst, roomID)
		dst = append(dst, `,"participants":`...)
		dst = appendIDs(dst, participants)
	}
	dst = append(dst, `,"missed":`...)
	dst = strconv.AppendUint(dst, missed, 10)
	dst = append(dst, `,"dropped":`...)
	dst = strconv.AppendUint(dst, dropped, 10)
	return append(dst, "}}"...)
}

// AppendSeq appends `,"seq":N}` to dst, an encoded server event whose final
// `}` the caller has left off.
func AppendSeq(dst []byte, seq uint64) []byte {
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	return append(dst, '}')
}
