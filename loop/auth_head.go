package loop

import (
	"bytes"
	"net/url"
)

// upgradeToken finds the access token in an upgrade request r: the token
// parameter of the request target's query (browsers cannot set headers on a
// WebSocket) or an Authorization: Bearer header (RFC 6750, 2.1), both read by
// parseRequest's one pass over the head. It returns nil when there is none,
// and a short reason when the request is ambiguous or malformed.
func upgradeToken(r *httpRequest) (tok []byte, why string) {
	fromQuery, why := queryToken(r.target)
	switch {
	case why != "":
		return nil, why
	case r.bearers > 1:
		return nil, "token given twice"
	case r.bearers == 1 && len(r.bearer) == 0:
		return nil, "token is empty"
	case fromQuery != nil && r.bearer != nil && !bytes.Equal(fromQuery, r.bearer):
		return nil, "two different tokens in the URL and the Authorization header"
	case r.bearer != nil:
		return r.bearer, ""
	}
	return fromQuery, ""
}

// queryToken returns the token parameter of the request target's query.
func queryToken(target []byte) (tok []byte, why string) {
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
