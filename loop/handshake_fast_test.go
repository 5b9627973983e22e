package loop

import (
	"bytes"
	"strings"
	"testing"
)

// plainUpgrades are requests the fast path answers itself: as browsers and
// client libraries send them (header order and values as captured from each,
// with one key), and two odd but valid ones.
var plainUpgrades = []struct{ name, req string }{
	{"chrome", "GET /signal HTTP/1.1\r\nHost: signal.example.com\r\nConnection: Upgrade\r\nPragma: no-cache\r\n" +
		"Cache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
		"Upgrade: websocket\r\nOrigin: https://app.example.com\r\nSec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nSec-WebSocket-Protocol: webrtc-signaling\r\n\r\n"},
	{"firefox", "GET /signal HTTP/1.1\r\nHost: signal.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\n" +
		"Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nSec-WebSocket-Version: 13\r\n" +
		"Origin: https://app.example.com\r\nSec-WebSocket-Protocol: webrtc-signaling\r\nSec-WebSocket-Extensions: permessage-deflate\r\n" +
		"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nConnection: keep-alive, Upgrade\r\nSec-Fetch-Dest: empty\r\n" +
		"Sec-Fetch-Mode: websocket\r\nSec-Fetch-Site: same-site\r\nPragma: no-cache\r\nCache-Control: no-cache\r\nUpgrade: websocket\r\n\r\n"},
	{"safari", "GET /signal HTTP/1.1\r\nHost: signal.example.com\r\nSec-WebSocket-Extensions: permessage-deflate\r\n" +
		"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nOrigin: https://app.example.com\r\n" +
		"Pragma: no-cache\r\nCache-Control: no-cache\r\nSec-WebSocket-Protocol: webrtc-signaling\r\nAccept-Language: en-GB,en;q=0.9\r\n" +
		"User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15\r\n" +
		"Sec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate\r\n\r\n"},
	{"go client, no subprotocol", "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n" +
		"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n\r\n"},
	{"other subprotocols offered first", "GET /?room=a HTTP/1.1\r\nhost: x\r\nupgrade: WebSocket\r\nconnection: upgrade\r\n" +
		"sec-websocket-version: 13\r\nsec-websocket-key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" +
		"Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: v2.chat, webrtc-signaling\r\n\r\n"},
	{"ours offered in the first of two protocol headers", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" +
		"Sec-WebSocket-Protocol: webrtc-signaling\r\nSec-WebSocket-Protocol: chat\r\n\r\n"},
}

// fastAnswer is what the fast path answers to req, a whole request head,
// and whether it answers.
func fastAnswer(req []byte) ([]byte, bool) {
	r := parseRequest(req)
	return fastUpgrade(nil, &r)
}

// gobwasAnswer is what ws.Upgrader answers to req, and whether it upgrades.
func gobwasAnswer(req []byte) ([]byte, bool) {
	var out []byte
	hio := handshakeIO{r: sliceReader{b: req}, out: &out}
	_, err := newUpgrader().Upgrade(&hio)
	return out, err == nil
}

func TestFastUpgradeAnswersPlainRequestsAsGobwasWould(t *testing.T) {
	for _, tc := range plainUpgrades {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := fastAnswer([]byte(tc.req))
			if !ok {
				t.Fatal("left to ws.Upgrader")
			}
			want, upgraded := gobwasAnswer([]byte(tc.req))
			if !upgraded || !bytes.Equal(got, want) {
				t.Fatalf("answered\n%q\nws.Upgrader (upgraded %v) answers\n%q", got, upgraded, want)
			}
			if !strings.Contains(string(got), "Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n") {
				t.Fatalf("wrong accept value for the well-known example key in %q", got)
			}
			if offered := strings.Contains(tc.req, Subprotocol); offered != strings.Contains(string(got), "Sec-WebSocket-Protocol: "+Subprotocol+"\r\n") {
				t.Fatalf("subprotocol offered %v, answer %q", offered, got)
			}
		})
	}
}

// The fast path declines anything unusual, and ws.Upgrader answers it as
// before: the server's answer to each is ws.Upgrader's.
func TestFastUpgradeLeavesUnusualRequestsToGobwas(t *testing.T) {
	const key = "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
	plain := plainUpgrades[3].req
	for _, tc := range []struct {
		name, req string
		upgrades  bool // whether ws.Upgrader upgrades it
	}{
		{"HTTP/1.0", strings.Replace(plain, "HTTP/1.1", "HTTP/1.0", 1), false},
		{"HTTP/1.2", strings.Replace(plain, "HTTP/1.1", "HTTP/1.2", 1), true},
		{"key twice", strings.Replace(plain, key, key+key, 1), true},
		{"bare line feeds", strings.Replace(plain, "Upgrade: websocket\r\n", "Upgrade: websocket\nX: y\r\n", 1), true},
		{"space before a colon", strings.Replace(plain, "Host:", "Host :", 1), true},
		{"Kelvin sign in the upgrade token", strings.Replace(plain, "Upgrade: websocket", "Upgrade: websoc\u212aet", 1), true},
		{"no connection header", strings.Replace(plain, "Connection: Upgrade\r\n", "", 1), false},
		{"version 8", strings.Replace(plain, "Version: 13", "Version: 8", 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, ok := fastAnswer([]byte(tc.req)); ok {
				t.Fatalf("answered %q itself", out)
			}
			want, upgraded := gobwasAnswer([]byte(tc.req))
			if upgraded != tc.upgrades {
				t.Fatalf("ws.Upgrader upgrades: %v, want %v (%q)", upgraded, tc.upgrades, want)
			}
			d := newDetached(t)
			c := &conn{ls: d.ls}
			d.srv.handshake(c, []byte(tc.req))
			got := d.takeOutput(c)
			if upgraded {
				got = got[:min(len(got), len(want))] // then the client-id message
			}
			if !bytes.Equal(got, want) || (c.state == stateOpen) != upgraded {
				t.Fatalf("server answered (upgraded %v)\n%q\nws.Upgrader answers\n%q", c.state == stateOpen, got, want)
			}
		})
	}
}

// TestFastUpgradeDeclinesOtherMethods: only an exact GET is answered on the
// fast path; handshake refuses the others before either upgrader sees them.
func TestFastUpgradeDeclinesOtherMethods(t *testing.T) {
	for _, method := range []string{"get", "POST", "HEAD", "OPTIONS"} {
		req := method + strings.TrimPrefix(plainUpgrades[3].req, "GET")
		if out, ok := fastAnswer([]byte(req)); ok || len(out) != 0 {
			t.Errorf("%s: answered %q itself", method, out)
		}
	}
}

// FuzzFastUpgradeAgreesWithGobwas checks that any request the fast path
// answers, ws.Upgrader would upgrade too, with the same bytes.
func FuzzFastUpgradeAgreesWithGobwas(f *testing.F) {
	for _, tc := range plainUpgrades {
		f.Add([]byte(tc.req))
	}
	f.Add([]byte(upgradeRequest))
	f.Fuzz(func(t *testing.T, in []byte) {
		end := bytes.Index(in, headerEnd)
		if end < 0 {
			return
		}
		req := in[:end+len(headerEnd)]
		got, ok := fastAnswer(req)
		if !ok {
			return
		}
		want, upgraded := gobwasAnswer(bytes.Clone(req))
		if !upgraded || !bytes.Equal(got, want) {
			t.Fatalf("for %q the fast path answered\n%q\nws.Upgrader (upgraded %v) answers\n%q", req, got, upgraded, want)
		}
	})
}

func TestUpgradeDoesNotAllocateOnceWarm(t *testing.T) {
	for _, tc := range plainUpgrades {
		t.Run(tc.name, func(t *testing.T) {
			d := newDetached(t)
			req := []byte(tc.req)
			c := &conn{ls: d.ls}
			upgraded := 0
			allocs := testing.AllocsPerRun(1000, func() {
				*c = conn{ls: d.ls}
				d.srv.handshake(c, req)
				if c.state == stateOpen {
					upgraded++
				}
				d.recycleOutput(c)
				d.srv.clients.Remove(&c.client)
			})
			if upgraded != 1001 { // AllocsPerRun runs once more to warm up
				t.Fatalf("upgraded %d of 1001", upgraded)
			}
			if allocs != 0 && !raceEnabled {
				t.Fatalf("an upgrade allocates %.1f times", allocs)
			}
		})
	}
}
