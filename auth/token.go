package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AnyRoom is the room claim of a token valid for every room.
const AnyRoom = "*"

// DefaultLeeway is the clock skew allowed on exp and nbf when Config.Leeway
// is zero; MaxLeeway bounds it, so that a typo cannot make expiry moot.
const (
	DefaultLeeway = 30 * time.Second
	MaxLeeway     = 5 * time.Minute
)

// Config is what a Verifier accepts. At least one of Secret and PublicKey
// must be set; only the algorithms they imply are accepted.
type Config struct {
	// Secret is the HS256 shared secret (--auth-secret).
	Secret []byte
	// PublicKey is an *ecdsa.PublicKey on P-256 (ES256), an *rsa.PublicKey
	// (RS256) or an ed25519.PublicKey (EdDSA) (--auth-public-key).
	PublicKey crypto.PublicKey
	// Issuer and Audience, when set, must match the iss and aud claims.
	Issuer, Audience string
	// Leeway is the clock skew allowed on exp and nbf; 0 means
	// DefaultLeeway and a negative value none.
	Leeway time.Duration
}

// Claims are the claims of a RedRTC room token: exp (required), nbf, iss,
// aud, and room, one room id or "*".
type Claims struct {
	Room string `json:"room"`
	jwt.RegisteredClaims
}

// Grant is what a verified token allows: joining Room (or any room when it
// is AnyRoom) until Expires.
type Grant struct {
	Room    string
	Expires time.Time
}

// Allows reports whether the grant covers room.
func (g *Grant) Allows(room []byte) bool { return g.Room == AnyRoom || g.Room == string(room) }

// Verifier checks tokens; it is safe for concurrent use.
type Verifier struct {
	parser *jwt.Parser
	secret []byte
	key    crypto.PublicKey
	keyAlg string
	issuer string
	leeway time.Duration
}

// Errors a token is refused with. Their texts are short and name no part of
// the token, so that they can go to the client and into logs.
var (
	ErrNoToken     = errors.New("token required")
	ErrMalformed   = errors.New("token is malformed")
	ErrAlgorithm   = errors.New("token algorithm not accepted")
	ErrSignature   = errors.New("token signature is invalid")
	ErrExpired     = errors.New("token has expired")
	ErrNotYetValid = errors.New("token is not valid yet")
	ErrNoExpiry    = errors.New("token has no exp claim")
	ErrIssuer      = errors.New("token issuer not accepted")
	ErrAudience    = errors.New("token audience not accepted")
	ErrNoRoom      = errors.New("token has no room claim")
	ErrWrongRoom   = errors.New("token is not valid for this room")
)

// NewVerifier checks cfg and returns a Verifier for it.
func NewVerifier(cfg Config) (*Verifier, error) {
	v := &Verifier{secret: cfg.Secret, key: cfg.PublicKey, issuer: cfg.Issuer, leeway: cfg.Leeway}
	if v.leeway == 0 {
		v.leeway = DefaultLeeway
	}
	if v.leeway < 0 {
		v.leeway = 0
	}
	if v.leeway > MaxLeeway {
		return nil, fmt.Errorf("auth leeway %v is over the %v maximum", cfg.Leeway, MaxLeeway)
	}
	var algs []string
	if len(cfg.Secret) > 0 {
		if len(cfg.Secret) < 16 {
			return nil, errors.New("auth secret must be at least 16 bytes")
		}
		algs = append(algs, jwt.SigningMethodHS256.Alg())
	}
	if cfg.PublicKey != nil {
		alg, err := keyAlgorithm(cfg.PublicKey)
		if err != nil {
			return nil, err
		}
		v.keyAlg = alg
		algs = append(algs, alg)
	}
	if len(algs) == 0 {
		return nil, errors.New("auth needs a secret or a public key")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(v.leeway),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// keyAlgorithm names the one algorithm a public key is used with.
func keyAlgorithm(k crypto.PublicKey) (string, error) {
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", errors.New("auth public key: only P-256 EC keys (ES256) are supported")
		}
		return jwt.SigningMethodES256.Alg(), nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", errors.New("auth public key: RSA keys must have at least 2048 bits")
		}
		return jwt.SigningMethodRS256.Alg(), nil
	case ed25519.PublicKey:
		return jwt.SigningMethodEdDSA.Alg(), nil
	}
	return "", fmt.Errorf("auth public key: unsupported key type %T", k)
}

// ParsePublicKeyPEM reads a PEM "PUBLIC KEY" (PKIX) block, or an RSA
// "RSA PUBLIC KEY" (PKCS #1) block.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
		return k, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse RSA public key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("PEM block is %q, want PUBLIC KEY (a private key must stay with the backend that signs)", block.Type)
}

// keyFor returns the key for the token's algorithm: the secret for HS256
// and the public key for its one algorithm, so that a token signed with
// HMAC over the public key's bytes (the HS/RS confusion) never verifies.
func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	switch {
	case alg == jwt.SigningMethodHS256.Alg() && len(v.secret) > 0:
		return v.secret, nil
	case v.keyAlg != "" && alg == v.keyAlg:
		return v.key, nil
	}
	return nil, ErrAlgorithm
}

// Verify checks a token and returns what it grants.
func (v *Verifier) Verify(token string) (Grant, error) {
	if token == "" {
		return Grant{}, ErrNoToken
	}
	var c Claims
	t, err := v.parser.ParseWithClaims(token, &c, v.keyFor)
	if err != nil {
		if t != nil && t.Method != nil && !v.accepts(t.Method.Alg()) {
			return Grant{}, ErrAlgorithm
		}
		if errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && c.ExpiresAt != nil {
			// exp is there, so the missing claim is iss or aud.
			if v.issuer != "" && c.Issuer == "" {
				return Grant{}, ErrIssuer
			}
			return Grant{}, ErrAudience
		}
		return Grant{}, classify(err)
	}
	if c.Room == "" {
		return Grant{}, ErrNoRoom
	}
	return Grant{Room: c.Room, Expires: c.ExpiresAt.Time}, nil
}

// VerifyRoom checks a token and that it grants room.
func (v *Verifier) VerifyRoom(token string, room []byte) (Grant, error) {
	g, err := v.Verify(token)
	if err == nil && !g.Allows(room) {
		err = ErrWrongRoom
	}
	return g, err
}

// accepts reports whether alg is one of the configured algorithms.
func (v *Verifier) accepts(alg string) bool {
	return (alg == jwt.SigningMethodHS256.Alg() && len(v.secret) > 0) || (v.keyAlg != "" && alg == v.keyAlg)
}

// Leeway is the clock skew the verifier allows.
func (v *Verifier) Leeway() time.Duration { return v.leeway }

// classify maps jwt's errors onto this package's short ones.
func classify(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return ErrNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ErrIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ErrAudience
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return ErrNoExpiry
	}
	return ErrMalformed
}

// Sign makes an HS256 token for room (or AnyRoom) that expires after ttl,
// with iss and aud when they are not empty. It is what `redrtc token` prints,
// and what a backend with a JWT library does itself.
func Sign(secret []byte, room string, ttl time.Duration, issuer, audience string, now time.Time) (string, error) {
	return SignWith(jwt.SigningMethodHS256, secret, room, ttl, issuer, audience, now)
}

// SignWith is Sign with another method and its private key.
func SignWith(method jwt.SigningMethod, key any, room string, ttl time.Duration, issuer, audience string, now time.Time) (string, error) {
	if room == "" {
		return "", ErrNoRoom
	}
	if ttl <= 0 {
		return "", errors.New("token lifetime must be positive")
	}
	c := Claims{Room: room, RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    issuer,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	if audience != "" {
		c.Audience = jwt.ClaimStrings{audience}
	}
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}
