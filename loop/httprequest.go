package loop

import (
	"bytes"
	"strings"
)

var (
	headerEnd = []byte("\r\n\r\n")
	crlf      = []byte("\r\n")
)

// requestHeadLen returns the length of the request head at the start of
// buf, up to and including its blank line, or 0 when the first
// MaxHeaderBytes of buf hold no blank line. A head that arrives in pieces
// is searched once: how far the search got is kept in c's rare state, and
// the next call, with the same bytes and more after them, starts there.
func (c *conn) requestHeadLen(buf []byte) int {
	// A blank line ending past MaxHeaderBytes makes the head too large
	// whether or not it has arrived, so the search stops there.
	limit := min(len(buf), MaxHeaderBytes)
	from := 0
	if c.rare != nil {
		from = min(c.rare.headScanned, limit)
	}
	if i := bytes.Index(buf[from:limit], headerEnd); i >= 0 {
		return from + i + len(headerEnd)
	}
	// The last bytes searched may be the start of the blank line.
	if next := limit - (len(headerEnd) - 1); next > from {
		c.rareState().headScanned = next
	}
	return 0
}

// httpRequest is what the upgrade needs from a request head, read from it
// in one pass by parseRequest. Its slices point into the head.
type httpRequest struct {
	// lineOK reports whether the request line has the shape
	// "METHOD TARGET HTTP/1.x"; method, target and version are its parts.
	lineOK                  bool
	method, target, version []byte

	// The value of the first header of each name, trimmed of spaces and
	// tabs (empty when the header is, nil when there is none).
	upgrade, connection, wsVersion, key, origin []byte
	// protocol is Subprotocol when a Sec-WebSocket-Protocol header offers it.
	protocol string
	// bearer is the credentials of the first Authorization header of the
	// Bearer scheme (RFC 6750, 2.1), an access token; bearers counts such
	// headers. Other schemes (Basic, from a proxy in front) are not ours.
	bearer  []byte
	bearers int
	// seen has a bit for each header an upgrade needs exactly once.
	seen uint8
	// unusual is set by anything in the request line or headers that
	// fastUpgrade leaves to ws.Upgrader: a request line other than
	// "METHOD TARGET HTTP/1.1" ending in CRLF, a header line that is not a
	// token, a colon and printable text (a bare CR or LF, a control
	// character, a space before the colon), or a second header where an
	// upgrade needs one.
	unusual bool
}

// The headers an upgrade needs exactly once, as bits of httpRequest.seen.
const (
	seenHost uint8 = 1 << iota
	seenUpgrade
	seenConnection
	seenVersion
	seenKey
	seenAllRequired = seenHost | seenUpgrade | seenConnection | seenVersion | seenKey
)

// parseRequest reads head, a whole request head ending with its blank line.
func parseRequest(head []byte) httpRequest {
	var r httpRequest
	r.requestLine(head)
	// Headers begin after the first CRLF. The request line is read up to
	// the first LF, so one with a bare LF is cut short there, and unusual.
	_, rest, _ := bytes.Cut(head, crlf)
	for {
		var line []byte
		line, rest, _ = bytes.Cut(rest, crlf)
		if len(line) == 0 {
			return r
		}
		r.header(line)
	}
}

// requestLine splits the line up to head's first LF, less any CRs before
// it, into "METHOD TARGET HTTP/1.x".
func (r *httpRequest) requestLine(head []byte) {
	lf := bytes.IndexByte(head, '\n')
	line := bytes.TrimRight(head[:lf], "\r")
	method, rest, _ := bytes.Cut(line, []byte(" "))
	target, version, _ := bytes.Cut(rest, []byte(" "))
	if len(method) == 0 || len(target) == 0 || !bytes.HasPrefix(version, []byte("HTTP/1.")) {
		r.unusual = true
		return
	}
	r.lineOK = true
	r.method, r.target, r.version = method, target, version
	if len(line) != lf-1 || string(version) != "HTTP/1.1" || !printable(target) {
		r.unusual = true
	}
}

// header records one header line.
func (r *httpRequest) header(line []byte) {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		r.unusual = true
		return
	}
	name, value := line[:colon], line[colon+1:]
	if !isToken(name) || !printable(value) {
		r.unusual = true
	}
	value = trimSPHT(value)
	switch {
	case asciiEqualFold(name, "host"):
		r.once(seenHost)
	case asciiEqualFold(name, "upgrade"):
		r.keepOnce(seenUpgrade, &r.upgrade, value)
	case asciiEqualFold(name, "connection"):
		r.keepOnce(seenConnection, &r.connection, value)
	case asciiEqualFold(name, "sec-websocket-version"):
		r.keepOnce(seenVersion, &r.wsVersion, value)
	case asciiEqualFold(name, "sec-websocket-key"):
		r.keepOnce(seenKey, &r.key, value)
	case asciiEqualFold(name, "sec-websocket-protocol"):
		if r.protocol == "" {
			r.protocol, _ = selectSubprotocol(value)
		}
	case asciiEqualFold(name, "origin"):
		if r.origin == nil {
			r.origin = value
		}
	case asciiEqualFold(name, "authorization"):
		scheme, credentials, _ := bytes.Cut(value, []byte(" "))
		if asciiEqualFold(scheme, "bearer") {
			if r.bearers == 0 {
				r.bearer = trimSPHT(credentials)
			}
			r.bearers++
		}
	}
}

// once records a header an upgrade needs once and reports whether it is
// the first of its name; a second one marks the request unusual.
func (r *httpRequest) once(bit uint8) bool {
	if r.seen&bit != 0 {
		r.unusual = true
		return false
	}
	r.seen |= bit
	return true
}

// keepOnce records a header an upgrade needs once, keeping the first value.
func (r *httpRequest) keepOnce(bit uint8, field *[]byte, value []byte) {
	if r.once(bit) {
		*field = value
	}
}

// path is the request target without its query.
func (r *httpRequest) path() []byte {
	path, _, _ := bytes.Cut(r.target, []byte("?"))
	return path
}

// present reports whether a header value holds more than white space. The
// handshake's own checks trim as bytes.TrimSpace does, Unicode spaces
// included, as they always have; the fast path, which needs exact values,
// declines a value with anything but ASCII around it.
func present(value []byte) bool { return len(bytes.TrimSpace(value)) > 0 }

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
