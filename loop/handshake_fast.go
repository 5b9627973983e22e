package loop

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
)

// The upgrade requests browsers and WebSocket libraries send are answered
// here rather than by ws.Upgrader, whose success path allocates on every
// handshake: gobwas/ws builds the Sec-WebSocket-Accept value in a 28-byte
// slice and hands it to bufio.Writer.WriteString, which lets it escape.
// ws.Upgrader stays the authority for GET requests that pass handshake's
// own checks (method, key, Origin): whatever fastUpgrade does not recognise
// as plainly valid (what parseRequest marks unusual, such as a duplicated
// header, a bare line feed or HTTP/1.0, or a missing or wrong header) goes
// to it, and it answers, errors included.
// FuzzFastUpgradeAgreesWithGobwas checks that every request answered here
// gets, byte for byte, the answer ws.Upgrader would give.

// acceptGUID is RFC 6455's key suffix for Sec-WebSocket-Accept.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// fastUpgrade appends the 101 response to r and reports true; for any
// request it does not recognise as plainly valid it appends nothing and
// reports false.
func fastUpgrade(out []byte, r *httpRequest) ([]byte, bool) {
	if r.unusual || string(r.method) != "GET" || r.seen != seenAllRequired ||
		!asciiEqualFold(r.upgrade, "websocket") || !tokenListHas(r.connection, "upgrade") ||
		string(r.wsVersion) != "13" || len(r.key) != 24 {
		return out, false
	}
	var keyed [24 + len(acceptGUID)]byte
	copy(keyed[copy(keyed[:], r.key):], acceptGUID)
	sum := sha1.Sum(keyed[:])
	var accept [28]byte
	base64.StdEncoding.Encode(accept[:], sum[:])

	out = append(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	out = append(out, accept[:]...)
	out = append(out, crlf...)
	if r.protocol != "" {
		out = append(out, "Sec-WebSocket-Protocol: "...)
		out = append(out, r.protocol...)
		out = append(out, crlf...)
	}
	return append(out, crlf...), true
}

// tokenListHas reports whether list, a comma-separated list in which every
// element is a token, holds want (lower case) in any case.
func tokenListHas(list []byte, want string) bool {
	has := false
	for elem := range bytes.SplitSeq(list, []byte(",")) {
		elem = trimSPHT(elem)
		if !isToken(elem) {
			return false
		}
		has = has || asciiEqualFold(elem, want)
	}
	return has
}
