package loop

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"strings"
)

// The upgrade requests browsers and WebSocket libraries send are answered
// here rather than by ws.Upgrader, whose success path allocates on every
// handshake: gobwas/ws builds the Sec-WebSocket-Accept value in a 28-byte
// slice and hands it to bufio.Writer.WriteString, which lets it escape.
// ws.Upgrader stays the authority for GET requests that pass handshake's
// own checks (method, key, Origin): whatever fastUpgrade does not recognise
// as plainly valid (a duplicated header, a bare line feed, HTTP/1.0, a
// missing header, …) goes to it, and it answers, errors included.
// FuzzFastUpgradeAgreesWithGobwas checks that every request answered here
// gets, byte for byte, the answer ws.Upgrader would give.

// acceptGUID is RFC 6455's key suffix for Sec-WebSocket-Accept.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// fastUpgrade appends the 101 response for req, a whole request head that
// ends with its blank line, and reports true; for any request it does not
// recognise as plainly valid it appends nothing and reports false.
func fastUpgrade(out, req []byte) ([]byte, bool) {
	line, rest, _ := bytes.Cut(req, crlf)
	method, line, _ := bytes.Cut(line, []byte(" "))
	target, version, _ := bytes.Cut(line, []byte(" "))
	if string(method) != "GET" || string(version) != "HTTP/1.1" || !printable(target) || bytes.IndexByte(target, ' ') >= 0 {
		return out, false
	}

	// The required headers, as bits of what has been seen.
	const (
		seenHost = 1 << iota
		seenUpgrade
		seenConnection
		seenVersion
		seenKey
		seenAllRequired = seenHost | seenUpgrade | seenConnection | seenVersion | seenKey
	)
	var seen int
	var key []byte
	protocol := ""
	for {
		var found bool
		line, rest, found = bytes.Cut(rest, crlf)
		if !found {
			return out, false
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) || !printable(line[colon+1:]) {
			return out, false
		}
		name, value := line[:colon], trimSPHT(line[colon+1:])
		var bit int
		switch {
		case asciiEqualFold(name, "host"):
			bit = seenHost
		case asciiEqualFold(name, "upgrade"):
			bit = seenUpgrade
			if !asciiEqualFold(value, "websocket") {
				return out, false
			}
		case asciiEqualFold(name, "connection"):
			bit = seenConnection
			if !tokenListHas(value, "upgrade") {
				return out, false
			}
		case asciiEqualFold(name, "sec-websocket-version"):
			bit = seenVersion
			if string(value) != "13" {
				return out, false
			}
		case asciiEqualFold(name, "sec-websocket-key"):
			bit = seenKey
			if len(value) != 24 {
				return out, false
			}
			key = value
		case asciiEqualFold(name, "sec-websocket-protocol"):
			if protocol == "" {
				var ok bool
				if protocol, ok = selectSubprotocol(value); !ok {
					return out, false
				}
			}
		}
		if seen&bit != 0 {
			return out, false
		}
		seen |= bit
	}
	if seen != seenAllRequired || len(rest) != 0 {
		return out, false
	}

	var keyed [24 + len(acceptGUID)]byte
	copy(keyed[copy(keyed[:], key):], acceptGUID)
	sum := sha1.Sum(keyed[:])
	var accept [28]byte
	base64.StdEncoding.Encode(accept[:], sum[:])

	out = append(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	out = append(out, accept[:]...)
	out = append(out, crlf...)
	if protocol != "" {
		out = append(out, "Sec-WebSocket-Protocol: "...)
		out = append(out, protocol...)
		out = append(out, crlf...)
	}
	return append(out, crlf...), true
}

var crlf = []byte("\r\n")

// printable reports whether b holds no control characters but tabs, so that
// no stray CR or LF can make a line mean something else to ws.Upgrader.
func printable(b []byte) bool {
	for _, ch := range b {
		if (ch < ' ' && ch != '\t') || ch == 0x7f {
			return false
		}
	}
	return true
}

// isToken reports whether b is an HTTP token (RFC 9110 tchar, at least one).
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, ch := range b {
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0:
		default:
			return false
		}
	}
	return true
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

// asciiEqualFold compares b with lower, which is lower-case ASCII, ignoring
// ASCII case only (bytes.EqualFold would also fold, say, the Kelvin sign).
func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != lower[i] {
			return false
		}
	}
	return true
}

// trimSPHT trims spaces and tabs, as HTTP and ws.Upgrader do.
func trimSPHT(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
