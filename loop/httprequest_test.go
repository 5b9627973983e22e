package loop

import (
	"strings"
	"testing"
)

// parseRequest folds header names by ASCII case only, keeps the first value
// of each header, and marks what the fast path must leave to ws.Upgrader.
func TestParseRequest(t *testing.T) {
	plain := plainUpgrades[3].req
	for _, tc := range []struct {
		name, req   string
		key, origin string
		unusual     bool
	}{
		{"plain", plain, "x3JJHMbDL1EzLkh9GBhXDw==", "", false},
		{"names in any ASCII case", strings.Replace(plain, "Sec-WebSocket-Key:", "SEC-websocket-KEY:", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", false},
		{"Kelvin sign in a name", strings.Replace(plain, "Sec-WebSocket-Key:", "Sec-WebSoc\u212aet-Key:", 1), "", "", true},
		{"two origins: the first counts", strings.Replace(plain, "\r\n\r\n", "\r\nOrigin: https://a.example\r\norigin: https://b.example\r\n\r\n", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "https://a.example", false},
		{"two keys: the first counts", strings.Replace(plain, "\r\n\r\n", "\r\nSec-WebSocket-Key: second\r\n\r\n", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", true},
		{"value trimmed of spaces and tabs", strings.Replace(plain, "\r\n\r\n", "\r\nOrigin: \t https://a.example \t\r\n\r\n", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "https://a.example", false},
		{"bare LF in a header line", strings.Replace(plain, "Host: 127.0.0.1:8080\r\n", "Host: 127.0.0.1:8080\nOrigin: https://a.example\r\n", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", true},
		{"two CRs end the request line", strings.Replace(plain, "HTTP/1.1\r\n", "HTTP/1.1\r\r\n", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", true},
		{"HTTP/1.0", strings.Replace(plain, "HTTP/1.1", "HTTP/1.0", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", true},
		{"control character in a value", strings.Replace(plain, "Go-http-client", "Go\x01", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", true},
		{"space before a colon", strings.Replace(plain, "Host:", "Host :", 1), "x3JJHMbDL1EzLkh9GBhXDw==", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := parseRequest([]byte(tc.req))
			if !r.lineOK || string(r.method) != "GET" || string(r.path()) != "/" {
				t.Fatalf("request line: ok %v, method %q, path %q", r.lineOK, r.method, r.path())
			}
			if string(r.key) != tc.key || string(r.origin) != tc.origin || r.unusual != tc.unusual {
				t.Fatalf("key %q, origin %q, unusual %v; want %q, %q, %v", r.key, r.origin, r.unusual, tc.key, tc.origin, tc.unusual)
			}
		})
	}
}
