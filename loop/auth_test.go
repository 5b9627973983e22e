package loop

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"

	"github.com/redrtc/redrtc/auth"
	"github.com/redrtc/redrtc/internal/testkit"
)

var testSecret = []byte("loop-test-secret-0123456789abcdef")

func verifier(t testing.TB, cfg auth.Config) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func hsToken(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func roomClaims(room string) jwt.MapClaims {
	return jwt.MapClaims{"room": room, "exp": time.Now().Add(time.Hour).Unix()}
}

// upgradeStatus sends an upgrade request with the given target and extra
// headers, and returns the status and body of the answer.
func upgradeStatus(t *testing.T, srv *Server, target, headers string) (int, string) {
	t.Helper()
	r := dialRaw(t, srv)
	req := strings.Replace(upgradeRequest, "GET /signal ", "GET "+target+" ", 1)
	if headers != "" {
		req = strings.Replace(req, "\r\n\r\n", "\r\n"+headers+"\r\n\r\n", 1)
	}
	r.write([]byte(req))
	resp := r.response()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without a Bearer challenge: %v", resp.Header)
	}
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// TestUpgradeToken: a token offered at the upgrade, in the URL or in the
// Authorization header, is checked before the upgrade; a bad one gets 401
// with a short reason, and no token at all is let through to join.
func TestUpgradeToken(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var logs testkit.LockedBuffer
	logger := zerolog.New(&logs).Level(zerolog.DebugLevel)
	srv := startServer(t, Config{Logger: &logger, Auth: verifier(t, auth.Config{Secret: testSecret, PublicKey: &ecKey.PublicKey, Issuer: "app", Audience: "redrtc"})})
	t.Cleanup(func() {
		// Every refusal was logged at debug level, with its reason and
		// without the token.
		n := strings.Count(logs.String(), "upgrade refused: token")
		if n < 10 {
			t.Errorf("%d refusals logged, want one per 401:\n%s", n, logs.String())
		}
		if counted := srv.Metrics().Refused["unauthorized"]; counted != uint64(n) {
			t.Errorf("%d refusals counted as unauthorized, want %d", counted, n)
		}
		if strings.Contains(logs.String(), "eyJ") {
			t.Errorf("a token was logged:\n%s", logs.String())
		}
	})
	good := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"room": "r1", "exp": time.Now().Add(time.Hour).Unix(), "iss": "app", "aud": "redrtc"}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	es, err := jwt.NewWithClaims(jwt.SigningMethodES256, good(nil)).SignedString(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs := hsToken(t, good(nil))
	tests := []struct {
		name, target, headers string
		status                int
		reason                string
	}{
		{"no token", "/", "", 101, ""},
		{"HS256 in URL", "/?token=" + hs, "", 101, ""},
		{"ES256 in URL", "/?x=1&token=" + es + "#frag", "", 101, ""},
		{"bearer header", "/", "Authorization: Bearer " + hs, 101, ""},
		{"same in both", "/?token=" + hs, "authorization: bearer " + hs, 101, ""},
		{"basic auth ignored", "/", "Authorization: Basic dXNlcjpwYXNz", 101, ""},
		{"different in both", "/?token=" + hs, "Authorization: Bearer " + es, 401, "two different tokens"},
		{"twice in URL", "/?token=" + hs + "&token=" + hs, "", 401, "token given twice"},
		{"empty", "/?token=", "", 401, "token is empty"},
		{"expired", "/?token=" + hsToken(t, good(jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()})), "", 401, auth.ErrExpired.Error()},
		{"not yet valid", "/?token=" + hsToken(t, good(jwt.MapClaims{"nbf": time.Now().Add(time.Hour).Unix()})), "", 401, auth.ErrNotYetValid.Error()},
		{"missing exp", "/?token=" + hsToken(t, good(jwt.MapClaims{"exp": nil})), "", 401, auth.ErrNoExpiry.Error()},
		{"wrong issuer", "/?token=" + hsToken(t, good(jwt.MapClaims{"iss": "evil"})), "", 401, auth.ErrIssuer.Error()},
		{"wrong audience", "/?token=" + hsToken(t, good(jwt.MapClaims{"aud": "other"})), "", 401, auth.ErrAudience.Error()},
		{"wrong signature", "/?token=" + hs[:len(hs)-4] + "AAAA", "", 401, auth.ErrSignature.Error()},
		{"alg none", "/?token=" + none, "", 401, auth.ErrAlgorithm.Error()},
		{"malformed", "/?token=abc", "", 401, auth.ErrMalformed.Error()},
		{"bad escape", "/?token=%zz", "", 401, "not URL-encoded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := upgradeStatus(t, srv, tc.target, tc.headers)
			if status != tc.status || !strings.Contains(body, tc.reason) {
				t.Fatalf("status %d %q, want %d with %q", status, body, tc.status, tc.reason)
			}
			if strings.Contains(body, "eyJ") {
				t.Fatalf("the reason quotes a token: %q", body)
			}
		})
	}
}

// TestJoinToken: with tokens on, a join needs a token for its room, given
// at the upgrade or in join-room; a refusal is an unauthorized error and
// the connection stays usable, so a good join then works.
func TestJoinToken(t *testing.T) {
	srv := startServer(t, Config{Auth: verifier(t, auth.Config{Secret: testSecret})})
	join := func(c *testkit.Client, room, token string) {
		data := map[string]any{"roomId": room}
		if token != "" {
			data["token"] = token
		}
		c.Send("join-room", data)
	}
	joined := func(t *testing.T, c *testkit.Client) {
		t.Helper()
		c.In(t).Expect("room-created", "room-joined")
		c.In(t).Await("participants")
	}
	refused := func(t *testing.T, c *testkit.Client, reason string) {
		t.Helper()
		ev := c.In(t).ExpectError("unauthorized", "join-room")
		if msg := ev.Str(t, "message"); !strings.Contains(msg, reason) {
			t.Fatalf("message %q, want %q", msg, reason)
		}
		c.In(t).StillServed()
	}

	t.Run("no token, then a good one", func(t *testing.T) {
		c := dial(t, srv)
		join(c, "a", "")
		refused(t, c, "needs a token")
		join(c, "a", hsToken(t, roomClaims("a")))
		joined(t, c)
	})
	t.Run("wrong room, any room", func(t *testing.T) {
		c := dial(t, srv)
		join(c, "b", hsToken(t, roomClaims("a")))
		refused(t, c, auth.ErrWrongRoom.Error())
		join(c, "b", hsToken(t, roomClaims("*")))
		joined(t, c)
	})
	t.Run("expired, bad signature, not a string", func(t *testing.T) {
		c := dial(t, srv)
		join(c, "c", hsToken(t, jwt.MapClaims{"room": "c", "exp": time.Now().Add(-time.Hour).Unix()}))
		refused(t, c, auth.ErrExpired.Error())
		join(c, "c", "eyJhbGciOiJub25lIn0.eyJyb29tIjoiYyIsImV4cCI6OTk5OTk5OTk5OX0.")
		refused(t, c, auth.ErrAlgorithm.Error())
		c.Send("join-room", map[string]any{"roomId": "c", "token": 7})
		c.ExpectError("bad-request", "join-room")
	})
	t.Run("a refused join keeps the client in its room", func(t *testing.T) {
		c := dial(t, srv)
		join(c, "k", hsToken(t, roomClaims("k")))
		joined(t, c)
		join(c, "l", "")
		refused(t, c, "needs a token")
		c.Send("leave-room", nil)
		if ev := c.Expect("room-left"); ev.Str(t, "roomId") != "k" {
			t.Fatalf("left %s, want k", ev.Data)
		}
	})
	t.Run("room from the URL", func(t *testing.T) {
		c := testkit.Dial(t, wsURL(srv)+"?token="+hsToken(t, roomClaims("d")))
		join(c, "e", "")
		refused(t, c, auth.ErrWrongRoom.Error())
		join(c, "d", "")
		joined(t, c)
	})
	t.Run("join token decides over the URL's", func(t *testing.T) {
		c := testkit.Dial(t, wsURL(srv)+"?token="+hsToken(t, roomClaims("*")))
		join(c, "f", hsToken(t, roomClaims("g")))
		refused(t, c, auth.ErrWrongRoom.Error())
		join(c, "f", hsToken(t, roomClaims("f")))
		joined(t, c)
	})
	t.Run("bearer header", func(t *testing.T) {
		h := http.Header{}
		h.Set("Authorization", "Bearer "+hsToken(t, roomClaims("h")))
		c, _, err := testkit.DialWith(t, wsURL(srv), &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			t.Fatal(err)
		}
		c.ReadClientID()
		join(c, "h", "")
		joined(t, c)
	})
	t.Run("connect token expired before the join", func(t *testing.T) {
		// exp within the leeway passes the upgrade; by the join it is past.
		short := verifier(t, auth.Config{Secret: testSecret, Leeway: time.Second})
		srv := startServer(t, Config{Auth: short})
		exp := time.Now().Add(time.Second).Unix()
		c := testkit.Dial(t, wsURL(srv)+"?token="+hsToken(t, jwt.MapClaims{"room": "i", "exp": exp}))
		testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
			if time.Now().Unix() <= exp+1 {
				return fmt.Errorf("the token, expiring at %d, is still within its leeway", exp)
			}
			return nil
		})
		join(c, "i", "")
		refused(t, c, "expired")
	})
}

// TestTokensOffByDefault: without Config.Auth, tokens are ignored wherever
// they appear, and clients without one join as before.
func TestTokensOffByDefault(t *testing.T) {
	srv := startServer(t, Config{})
	if status, _ := upgradeStatus(t, srv, "/?token=garbage", "Authorization: Bearer garbage"); status != 101 {
		t.Fatalf("status %d with a garbage token and auth off", status)
	}
	c := dial(t, srv)
	c.Send("join-room", map[string]any{"roomId": "x", "token": "garbage"})
	c.Expect("room-created")
	c.Expect("room-joined")
	dial(t, srv).Join("y")
}

// TestRoomJoinedICEServers: room-joined carries iceServers whose TURN
// credential coturn would accept: the HMAC-SHA1 of the username under the
// secret, and a username naming the client and an expiry --turn-ttl ahead.
func TestRoomJoinedICEServers(t *testing.T) {
	secret := []byte("turn-secret")
	ice, err := auth.NewICE(auth.TURNConfig{Secret: secret, TTL: time.Hour,
		TURNURIs: []string{"turn:127.0.0.1:3478?transport=udp", "turns:turn.example.com:5349"}, STUNURIs: []string{"stun:127.0.0.1:3478"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, Config{ICE: ice})
	c := dial(t, srv)
	before := time.Now()
	ev := c.Join("ice")
	var data struct {
		IceServers []struct {
			URLs       []string `json:"urls"`
			Username   string   `json:"username"`
			Credential string   `json:"credential"`
		} `json:"iceServers"`
	}
	if err := json.Unmarshal(ev.Data, &data); err != nil || len(data.IceServers) != 2 {
		t.Fatalf("room-joined %s: %v", ev.Data, err)
	}
	stun, turn := data.IceServers[0], data.IceServers[1]
	if len(stun.URLs) != 1 || stun.URLs[0] != "stun:127.0.0.1:3478" || stun.Username != "" {
		t.Fatalf("STUN entry %+v", stun)
	}
	if len(turn.URLs) != 2 || turn.URLs[1] != "turns:turn.example.com:5349" {
		t.Fatalf("TURN entry %+v", turn)
	}
	expiry, id, _ := strings.Cut(turn.Username, ":")
	exp, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil || id != c.ID {
		t.Fatalf("username %q, want <expiry>:%s", turn.Username, c.ID)
	}
	if lo, hi := before.Add(time.Hour).Unix(), time.Now().Add(time.Hour).Unix(); exp < lo || exp > hi {
		t.Fatalf("expiry %d, want in [%d, %d]", exp, lo, hi)
	}
	if want := string(auth.AppendTURNCredential(nil, secret, []byte(turn.Username))); turn.Credential != want {
		t.Fatalf("credential %q, want %q", turn.Credential, want)
	}

	stunOnly, err := auth.NewICE(auth.TURNConfig{STUNURIs: []string{"stun:stun.example.com:3478"}})
	if err != nil {
		t.Fatal(err)
	}
	ev = dial(t, startServer(t, Config{ICE: stunOnly})).Join("s")
	if got := string(ev.Data); !strings.Contains(got, `"iceServers":[{"urls":["stun:stun.example.com:3478"]}]`) {
		t.Fatalf("room-joined %s", got)
	}
	ev = dial(t, startServer(t, Config{})).Join("n")
	if strings.Contains(string(ev.Data), "iceServers") {
		t.Fatalf("iceServers without any configured: %s", ev.Data)
	}
}

// FuzzUpgradeToken: the head parser never panics, and whatever it returns
// is a part of the head or a reason.
func FuzzUpgradeToken(f *testing.F) {
	f.Add([]byte("GET /?token=a.b.c HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a.b.c\r\n\r\n"))
	f.Add([]byte("GET /?token=%41&token= HTTP/1.1\r\n\r\n"))
	f.Add([]byte("GET /#?token=x HTTP/1.1\r\nauthorization:bearer\r\n\r\n"))
	f.Add([]byte(upgradeRequest))
	f.Fuzz(func(t *testing.T, req []byte) {
		end := bytes.Index(req, headerEnd)
		if end < 0 {
			return
		}
		r := parseRequest(req[:end+len(headerEnd)])
		tok, why := upgradeToken(&r)
		if tok != nil && why != "" {
			t.Fatalf("token %q and reason %q", tok, why)
		}
		if tok != nil && len(tok) == 0 {
			t.Fatal("empty token returned")
		}
	})
}
