package auth

import (
	"crypto/hmac"
	"crypto/sha1" // coturn's REST API scheme is HMAC-SHA1; it is not used as a plain hash
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultTURNTTL is how long TURN credentials last when TURNConfig.TTL is 0.
const DefaultTURNTTL = 24 * time.Hour

// TURNConfig configures the iceServers handed out in room-joined.
type TURNConfig struct {
	// Secret is coturn's static-auth-secret (--turn-secret); without it
	// only STUN URIs are handed out.
	Secret []byte
	// TURNURIs and STUNURIs are the turn:/turns: and stun:/stuns: URIs.
	TURNURIs, STUNURIs []string
	// TTL is how long a credential lasts (--turn-ttl).
	TTL time.Duration
}

// ICE hands out the iceServers of room-joined; it is safe for concurrent use.
type ICE struct {
	secret     []byte
	turn, stun []string
	ttl        time.Duration
}

// NewICE checks cfg and returns an ICE for it, or nil when cfg names no URI
// at all (then room-joined carries no iceServers).
func NewICE(cfg TURNConfig) (*ICE, error) {
	for _, u := range cfg.TURNURIs {
		if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			return nil, fmt.Errorf("--turn-uris: %q is not a turn: or turns: URI", u)
		}
	}
	for _, u := range cfg.STUNURIs {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") {
			return nil, fmt.Errorf("--stun-uris: %q is not a stun: or stuns: URI", u)
		}
	}
	if len(cfg.TURNURIs) > 0 && len(cfg.Secret) == 0 {
		return nil, errors.New("--turn-uris needs --turn-secret (coturn's static-auth-secret)")
	}
	if len(cfg.Secret) > 0 && len(cfg.TURNURIs) == 0 {
		return nil, errors.New("--turn-secret needs --turn-uris")
	}
	if cfg.TTL < 0 {
		return nil, errors.New("--turn-ttl must not be negative")
	}
	if len(cfg.TURNURIs) == 0 && len(cfg.STUNURIs) == 0 {
		return nil, nil
	}
	ttl := cfg.TTL
	if ttl == 0 {
		ttl = DefaultTURNTTL
	}
	return &ICE{secret: cfg.Secret, turn: cfg.TURNURIs, stun: cfg.STUNURIs, ttl: ttl}, nil
}

// STUN returns the STUN URIs; TURN the TURN URIs, empty without a secret.
func (i *ICE) STUN() []string { return i.stun }

// TURN returns the TURN URIs.
func (i *ICE) TURN() []string { return i.turn }

// AppendUsername appends the TURN username for user, valid from now:
// "<unix expiry>:<user>".
func (i *ICE) AppendUsername(dst, user []byte, now time.Time) []byte {
	dst = strconv.AppendInt(dst, now.Add(i.ttl).Unix(), 10)
	dst = append(dst, ':')
	return append(dst, user...)
}

// AppendCredential appends base64(HMAC-SHA1(secret, username)), the
// password coturn computes for username with use-auth-secret.
func (i *ICE) AppendCredential(dst, username []byte) []byte {
	return AppendTURNCredential(dst, i.secret, username)
}

// AppendTURNCredential is AppendCredential for any secret; tests and tools
// recompute credentials with it.
func AppendTURNCredential(dst, secret, username []byte) []byte {
	mac := hmac.New(sha1.New, secret)
	mac.Write(username)
	var sum [sha1.Size]byte
	return base64.StdEncoding.AppendEncode(dst, mac.Sum(sum[:0]))
}
