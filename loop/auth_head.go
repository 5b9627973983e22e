package loop

import (
	"bytes"
	"net/url"
)

// upgradeToken finds the access token in an upgrade request's head: the
// token parameter of the request target's query (browsers cannot set
// headers on a WebSocket) or an Authorization: Bearer header (RFC 6750,
// 2.1). It returns nil when there is none, and a short reason when the
// request is ambiguous or malformed. req is the head up to its blank line.
func upgradeToken(req []byte) (tok []byte, why string) {
	line, headers, _ := bytes.Cut(req, []byte("\r\n"))
	fromQuery, why := queryToken(line)
	if why != "" {
		return nil, why
	}
	fromHeader, why := bearerToken(headers)
	switch {
	case why != "":
		return nil, why
	case fromQuery != nil && fromHeader != nil && !bytes.Equal(fromQuery, fromHeader):
		return nil, "two different tokens in the URL and the Authorization header"
	case fromHeader != nil:
		return fromHeader, ""
	}
	return fromQuery, ""
}

// queryToken returns the token parameter of the request line's target.
func queryToken(line []byte) (tok []byte, why string) {
	_, rest, _ := bytes.Cut(line, []byte(" "))
	target, _, _ := bytes.Cut(rest, []byte(" "))
	_, query, ok := bytes.Cut(target, []byte("?"))
	if !ok {
		return nil, ""
	}
	query, _, _ = bytes.Cut(query, []byte("#"))
	for param := range bytes.SplitSeq(query, []byte("&")) {
		key, value, _ := bytes.Cut(param, []byte("="))
		if string(key) != "token" {
			continue
		}
		if tok != nil {
			return nil, "token given twice"
		}
		if bytes.ContainsAny(value, "%+") {
			unescaped, err := url.QueryUnescape(string(value))
			if err != nil {
				return nil, "token parameter is not URL-encoded correctly"
			}
			value = []byte(unescaped)
		}
		if len(value) == 0 {
			return nil, "token is empty"
		}
		tok = value
	}
	return tok, ""
}

// bearerToken returns the credentials of an Authorization: Bearer header.
// Other schemes (Basic, set by a proxy in front) are not ours and are
// ignored.
func bearerToken(headers []byte) (tok []byte, why string) {
	for line := range bytes.SplitSeq(headers, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(name, []byte("authorization")) {
			continue
		}
		value = bytes.TrimSpace(value)
		scheme, cred, _ := bytes.Cut(value, []byte(" "))
		if !bytes.EqualFold(scheme, []byte("bearer")) {
			continue
		}
		if tok != nil {
			return nil, "token given twice"
		}
		if cred = bytes.TrimSpace(cred); len(cred) == 0 {
			return nil, "token is empty"
		}
		tok = cred
	}
	return tok, ""
}
