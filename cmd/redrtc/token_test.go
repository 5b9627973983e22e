package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/redrtc/redrtc/auth"
	"github.com/redrtc/redrtc/internal/testkit"
)

const cmdTestSecret = "cmd-test-secret-0123456789abcdef"

// tokenFromBinary runs `redrtc token` with args and the secret in the
// environment, and returns what it printed.
func tokenFromBinary(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"token"}, args...)...)
	cmd.Env = append(os.Environ(), authSecretEnv+"="+cmdTestSecret)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("redrtc token %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// TestTokenSubcommandIsAcceptedByTheServer: a token printed by `redrtc
// token` gets a client into its room on a server given the same secret in
// a file; without one, or with one for another room, the join is refused.
func TestTokenSubcommandIsAcceptedByTheServer(t *testing.T) {
	t.Parallel()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(cmdTestSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, addr := serve(t, "-i", "127.0.0.1", "--auth-secret-file", secretFile, "--auth-issuer", "app")
	tok := tokenFromBinary(t, "--room", "lobby", "--ttl", "5m", "--auth-issuer", "app")

	c := testkit.Dial(t, wsURL(addr)+"?token="+tok)
	c.Send("join-room", map[string]any{"roomId": "elsewhere"})
	c.ExpectError("unauthorized", "join-room")
	c.Join("lobby")

	other := testkit.Dial(t, wsURL(addr))
	other.Send("join-room", map[string]any{"roomId": "lobby"})
	other.ExpectError("unauthorized", "join-room")
	other.Send("join-room", map[string]any{"roomId": "lobby", "token": tok})
	other.Expect("room-joined")

	noIssuer := tokenFromBinary(t, "--room", "*")
	_, resp, err := testkit.DialWith(t, wsURL(addr)+"?token="+noIssuer, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token without the issuer: %v, %v; want 401", resp, err)
	}
}

// TestPublicKeyTokens: with --auth-public-key, a token the backend signed
// with the private key (EdDSA here) gets in, and an HS256 one does not.
func TestPublicKeyTokens(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, addr := serve(t, "-i", "127.0.0.1", "--auth-public-key", keyFile)
	tok, err := auth.SignWith(jwt.SigningMethodEdDSA, priv, "lobby", time.Minute, "", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	testkit.Dial(t, wsURL(addr)+"?token="+tok).Join("lobby")
	_, resp, err := testkit.DialWith(t, wsURL(addr)+"?token="+tokenFromBinary(t, "--room", "lobby"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an HS256 token on a public-key server: %v, %v; want 401", resp, err)
	}
}

func TestTokenSubcommand(t *testing.T) {
	t.Setenv(authSecretEnv, "")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no room", []string{"--auth-secret", cmdTestSecret}, 2, "--room is required"},
		{"no secret", []string{"--room", "r"}, 2, "no secret"},
		{"secret twice", []string{"--room", "r", "--auth-secret", "x", "--auth-secret-file", "/dev/null"}, 2, "not both"},
		{"bad ttl", []string{"--room", "r", "--auth-secret", cmdTestSecret, "--ttl", "-1h"}, 2, "positive"},
		{"stray argument", []string{"--room", "r", "--auth-secret", cmdTestSecret, "extra"}, 2, "unexpected argument"},
		{"help", []string{"--help"}, 0, ""},
		{"good", []string{"--room", "r", "--auth-secret", cmdTestSecret, "--ttl", "2m", "--auth-audience", "redrtc"}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(append([]string{"token"}, tc.args...), &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut.String(), tc.code, tc.stderr)
			}
			if tc.name != "good" {
				return
			}
			v, err := auth.NewVerifier(auth.Config{Secret: []byte(cmdTestSecret), Audience: "redrtc"})
			if err != nil {
				t.Fatal(err)
			}
			g, err := v.VerifyRoom(strings.TrimSpace(out.String()), []byte("r"))
			if err != nil {
				t.Fatal(err)
			}
			if left := time.Until(g.Expires); left > 2*time.Minute || left < time.Minute {
				t.Fatalf("expires in %v, want about 2m", left)
			}
		})
	}
}

func TestAuthFlagsRefused(t *testing.T) {
	t.Setenv(authSecretEnv, "")
	t.Setenv(turnSecretEnv, "")
	for name, args := range map[string][]string{
		"short secret":        {"--auth-secret", "short"},
		"issuer alone":        {"--auth-issuer", "app"},
		"missing key file":    {"--auth-public-key", "/nonexistent.pem"},
		"TURN without secret": {"--turn-uris", "turn:127.0.0.1:3478"},
		"bad STUN URI":        {"--stun-uris", "http://x"},
		"huge leeway":         {"--auth-secret", cmdTestSecret, "--auth-leeway", "1h"},
	} {
		t.Run(name, func(t *testing.T) {
			if code, _, stderr := runCLI(t, args...); code != 2 || !strings.Contains(stderr, "--") {
				t.Fatalf("exit %d, stderr %q; want 2 naming the flag", code, stderr)
			}
		})
	}
}
