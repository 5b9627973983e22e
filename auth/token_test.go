package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func mustVerifier(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sign makes a token with arbitrary claims.
func sign(t testing.TB, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rawToken builds header.payload.signature by hand, for tokens no JWT library
// would sign (alg none, an HMAC over a public key's bytes).
func rawToken(header, payload string, sig func(signingInput string) []byte) string {
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	return in + "." + enc.EncodeToString(sig(in))
}

func TestVerify(t *testing.T) {
	now := time.Now()
	exp := now.Add(time.Hour).Unix()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	rsaPEM := pemPublic(t, &rsaKey.PublicKey)

	hs := Config{Secret: secret}
	hsRS := Config{Secret: secret, PublicKey: &rsaKey.PublicKey}
	rs := Config{PublicKey: &rsaKey.PublicKey}
	claims := func(room string) jwt.MapClaims { return jwt.MapClaims{"room": room, "exp": exp} }

	tests := []struct {
		name  string
		cfg   Config
		token string
		room  string
		want  error
	}{
		{"HS256", hs, sign(t, jwt.SigningMethodHS256, secret, claims("r1")), "r1", nil},
		{"any room", hs, sign(t, jwt.SigningMethodHS256, secret, claims("*")), "elsewhere", nil},
		{"wrong room", hs, sign(t, jwt.SigningMethodHS256, secret, claims("r1")), "r2", ErrWrongRoom},
		{"no room", hs, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"exp": exp}), "r1", ErrNoRoom},
		{"RS256", rs, sign(t, jwt.SigningMethodRS256, rsaKey, claims("r1")), "r1", nil},
		{"RS256 beside HS256", hsRS, sign(t, jwt.SigningMethodRS256, rsaKey, claims("r1")), "r1", nil},
		{"HS256 beside RS256", hsRS, sign(t, jwt.SigningMethodHS256, secret, claims("r1")), "r1", nil},
		{"ES256", Config{PublicKey: &ecKey.PublicKey}, sign(t, jwt.SigningMethodES256, ecKey, claims("r1")), "r1", nil},
		{"EdDSA", Config{PublicKey: edPub}, sign(t, jwt.SigningMethodEdDSA, edPriv, claims("r1")), "r1", nil},
		{"expired", hs, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"room": "r1", "exp": now.Add(-time.Hour).Unix()}), "r1", ErrExpired},
		{"expired within leeway", hs, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"room": "r1", "exp": now.Add(-10 * time.Second).Unix()}), "r1", nil},
		{"expired past leeway", Config{Secret: secret, Leeway: 5 * time.Second}, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"room": "r1", "exp": now.Add(-10 * time.Second).Unix()}), "r1", ErrExpired},
		{"no leeway", Config{Secret: secret, Leeway: -1}, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"room": "r1", "exp": now.Add(-2 * time.Second).Unix()}), "r1", ErrExpired},
		{"not yet valid", hs, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"room": "r1", "exp": exp, "nbf": now.Add(10 * time.Minute).Unix()}), "r1", ErrNotYetValid},
		{"nbf within leeway", hs, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"room": "r1", "exp": exp, "nbf": now.Add(10 * time.Second).Unix()}), "r1", nil},
		{"missing exp", hs, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"room": "r1"}), "r1", ErrNoExpiry},
		{"wrong secret", hs, sign(t, jwt.SigningMethodHS256, []byte("another secret, 32 bytes long!!!"), claims("r1")), "r1", ErrSignature},
		{"wrong RSA key", rs, sign(t, jwt.SigningMethodRS256, mustRSA(t), claims("r1")), "r1", ErrSignature},
		{"HS384 not configured", hs, sign(t, jwt.SigningMethodHS384, secret, claims("r1")), "r1", ErrAlgorithm},
		{"RS256 when only HS256", hs, sign(t, jwt.SigningMethodRS256, rsaKey, claims("r1")), "r1", ErrAlgorithm},
		{"HS256 when only RS256", rs, sign(t, jwt.SigningMethodHS256, secret, claims("r1")), "r1", ErrAlgorithm},
		{"alg none", hs, sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("r1")), "r1", ErrAlgorithm},
		{"alg none, empty signature", hs, rawToken(`{"alg":"none","typ":"JWT"}`, `{"room":"r1","exp":9999999999}`, func(string) []byte { return nil }), "r1", ErrAlgorithm},
		{"alg unknown", hs, rawToken(`{"alg":"XX1","typ":"JWT"}`, `{"room":"r1","exp":9999999999}`, func(string) []byte { return []byte("x") }), "r1", ErrAlgorithm},
		// The HS/RS confusion: HMAC-SHA256 keyed with the public key's PEM,
		// which an attacker knows.
		{"HS/RS confusion, RS only", rs, rawToken(`{"alg":"HS256","typ":"JWT"}`, `{"room":"r1","exp":9999999999}`, hmacWith(rsaPEM)), "r1", ErrAlgorithm},
		{"HS/RS confusion, HS and RS", hsRS, rawToken(`{"alg":"HS256","typ":"JWT"}`, `{"room":"r1","exp":9999999999}`, hmacWith(rsaPEM)), "r1", ErrSignature},
		{"malformed", hs, "not.a.token", "r1", ErrMalformed},
		{"garbage", hs, "garbage", "r1", ErrMalformed},
		{"empty", hs, "", "r1", ErrNoToken},
		{"issuer ok", Config{Secret: secret, Issuer: "app"}, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"room": "r1", "exp": exp, "iss": "app"}), "r1", nil},
		{"issuer wrong", Config{Secret: secret, Issuer: "app"}, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"room": "r1", "exp": exp, "iss": "evil"}), "r1", ErrIssuer},
		{"issuer missing", Config{Secret: secret, Issuer: "app"}, sign(t, jwt.SigningMethodHS256, secret, claims("r1")), "r1", ErrIssuer},
		{"issuer unchecked", hs, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"room": "r1", "exp": exp, "iss": "any"}), "r1", nil},
		{"audience ok", Config{Secret: secret, Audience: "redrtc"}, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"room": "r1", "exp": exp, "aud": []string{"x", "redrtc"}}), "r1", nil},
		{"audience wrong", Config{Secret: secret, Audience: "redrtc"}, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"room": "r1", "exp": exp, "aud": "other"}), "r1", ErrAudience},
		{"audience missing", Config{Secret: secret, Audience: "redrtc"}, sign(t, jwt.SigningMethodHS256, secret, claims("r1")), "r1", ErrAudience},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := mustVerifier(t, tc.cfg)
			g, err := v.VerifyRoom(tc.token, []byte(tc.room))
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyRoom: %v, want %v", err, tc.want)
			}
			if err == nil && g.Expires.IsZero() {
				t.Fatal("grant has no expiry")
			}
		})
	}
}

func hmacWith(key []byte) func(string) []byte {
	return func(in string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(in))
		return m.Sum(nil)
	}
}

func mustRSA(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemPublic(t testing.TB, k any) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestSignThenVerify(t *testing.T) {
	now := time.Now()
	tok, err := Sign(secret, "r1", time.Minute, "app", "redrtc", now)
	if err != nil {
		t.Fatal(err)
	}
	v := mustVerifier(t, Config{Secret: secret, Issuer: "app", Audience: "redrtc"})
	g, err := v.VerifyRoom(tok, []byte("r1"))
	if err != nil {
		t.Fatal(err)
	}
	if g.Room != "r1" || g.Expires.Unix() != now.Add(time.Minute).Unix() {
		t.Fatalf("grant %+v", g)
	}
	if _, err := Sign(secret, "", time.Minute, "", "", now); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("Sign without a room: %v", err)
	}
	if _, err := Sign(secret, "r", 0, "", "", now); err == nil {
		t.Fatal("Sign with no lifetime succeeded")
	}
}

func TestNewVerifierRefuses(t *testing.T) {
	ecP384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	for name, cfg := range map[string]Config{
		"nothing":      {},
		"short secret": {Secret: []byte("short")},
		"P-384":        {PublicKey: &ecP384.PublicKey},
		"RSA 1024":     {PublicKey: &small.PublicKey},
		"huge leeway":  {Secret: secret, Leeway: time.Hour},
		"private key":  {PublicKey: ecP384},
	} {
		if _, err := NewVerifier(cfg); err == nil {
			t.Errorf("%s: NewVerifier succeeded", name)
		}
	}
}

func TestParsePublicKeyPEM(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k, err := ParsePublicKeyPEM(pemPublic(t, &ecKey.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if !ecKey.PublicKey.Equal(k) {
		t.Fatal("parsed key differs")
	}
	rsaKey := mustRSA(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})
	if _, err := ParsePublicKeyPEM(pkcs1); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	if _, err := ParsePublicKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err == nil {
		t.Fatal("a private key was accepted")
	}
	if _, err := ParsePublicKeyPEM([]byte("nonsense")); err == nil {
		t.Fatal("nonsense accepted")
	}
}

// FuzzVerify: no input makes Verify panic or accept a token not signed with
// the secret.
func FuzzVerify(f *testing.F) {
	good, _ := Sign(secret, "r1", time.Hour, "", "", time.Now())
	f.Add(good)
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("")
	v := mustVerifier(f, Config{Secret: secret})
	f.Fuzz(func(t *testing.T, tok string) {
		g, err := v.Verify(tok)
		if err == nil && tok != good {
			// Only re-encodings of a good token's parts could verify.
			if g.Room == "" {
				t.Fatalf("accepted %q without a room", tok)
			}
		}
	})
}

func BenchmarkVerifyHS256(b *testing.B) {
	tok, _ := Sign(secret, "r1", time.Hour, "", "", time.Now())
	v := mustVerifier(b, Config{Secret: secret})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyRoom(tok, []byte("r1")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyES256(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok, _ := SignWith(jwt.SigningMethodES256, k, "r1", time.Hour, "", "", time.Now())
	v := mustVerifier(b, Config{PublicKey: &k.PublicKey})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyRoom(tok, []byte("r1")); err != nil {
			b.Fatal(err)
		}
	}
}
