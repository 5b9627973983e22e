package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTURNCredential(t *testing.T) {
	ice, err := NewICE(TURNConfig{Secret: []byte("s3cret"), TURNURIs: []string{"turn:127.0.0.1:3478?transport=udp"}, STUNURIs: []string{"stun:127.0.0.1:3478"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	user := ice.AppendUsername(nil, []byte("client-1"), now)
	if want := strconv.FormatInt(now.Add(DefaultTURNTTL).Unix(), 10) + ":client-1"; string(user) != want {
		t.Fatalf("username %q, want %q", user, want)
	}
	m := hmac.New(sha1.New, []byte("s3cret"))
	m.Write(user)
	if got, want := string(ice.AppendCredential(nil, user)), base64.StdEncoding.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("credential %q, want %q", got, want)
	}
	// coturn's documented example (turnserver.conf, use-auth-secret).
	if got := AppendTURNCredential(nil, []byte("north"), []byte("1433895918506:username")); string(got) == "" {
		t.Fatal("empty credential")
	}
}

func TestNewICE(t *testing.T) {
	if ice, err := NewICE(TURNConfig{}); ice != nil || err != nil {
		t.Fatalf("no URIs: %v, %v; want nil, nil", ice, err)
	}
	if ice, err := NewICE(TURNConfig{STUNURIs: []string{"stun:a"}}); err != nil || len(ice.TURN()) != 0 {
		t.Fatalf("STUN only: %v, %v", ice, err)
	}
	for name, cfg := range map[string]TURNConfig{
		"TURN without secret": {TURNURIs: []string{"turn:a"}},
		"secret without TURN": {Secret: []byte("x")},
		"bad TURN URI":        {Secret: []byte("x"), TURNURIs: []string{"http://a"}},
		"bad STUN URI":        {STUNURIs: []string{"turn:a"}},
		"negative TTL":        {Secret: []byte("x"), TURNURIs: []string{"turn:a"}, TTL: -time.Second},
	} {
		if _, err := NewICE(cfg); err == nil || !strings.Contains(err.Error(), "-") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
