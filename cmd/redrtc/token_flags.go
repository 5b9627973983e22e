package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/redrtc/redrtc/auth"
	"github.com/redrtc/redrtc/loop"
)

// Environment variables that can carry secrets instead of the command line,
// where any user could read them in a process listing.
const (
	authSecretEnv = "REDRTC_AUTH_SECRET"
	turnSecretEnv = "REDRTC_TURN_SECRET"
)

// authFlags are the flags of access tokens and TURN credentials.
type authFlags struct {
	secret, secretFile, publicKey string
	issuer, audience              string
	leeway                        time.Duration
	turnSecret, turnSecretFile    string
	turnURIs, stunURIs            string
	turnTTL                       time.Duration
}

// authUsage is --help for authFlags.
const authUsage = `      --auth-secret S   require room tokens signed with HS256 and this secret
                        (or set REDRTC_AUTH_SECRET, or --auth-secret-file);
                        off by default
      --auth-secret-file FILE  read the HS256 secret from FILE
      --auth-public-key FILE  require room tokens signed with the private key
                        of this PEM public key (ES256, RS256 or EdDSA)
      --auth-issuer ISS, --auth-audience AUD  require these iss / aud claims
      --auth-leeway D   clock skew allowed on exp and nbf (default 30s)
      --turn-secret S   coturn's static-auth-secret: room-joined then carries
                        TURN credentials (or REDRTC_TURN_SECRET,
                        --turn-secret-file)
      --turn-uris LIST  comma-separated turn:/turns: URIs
      --stun-uris LIST  comma-separated stun: URIs sent in room-joined
      --turn-ttl D      lifetime of TURN credentials (default 24h)
`

// register adds the flags of a to fs; the token subcommand shares
// the secret, issuer and audience flags.
func (a *authFlags) register(fs *flag.FlagSet, server bool) {
	fs.StringVar(&a.secret, "auth-secret", "", "")
	fs.StringVar(&a.secretFile, "auth-secret-file", "", "")
	fs.StringVar(&a.issuer, "auth-issuer", "", "")
	fs.StringVar(&a.audience, "auth-audience", "", "")
	if !server {
		return
	}
	fs.StringVar(&a.publicKey, "auth-public-key", "", "")
	fs.DurationVar(&a.leeway, "auth-leeway", auth.DefaultLeeway, "")
	fs.StringVar(&a.turnSecret, "turn-secret", "", "")
	fs.StringVar(&a.turnSecretFile, "turn-secret-file", "", "")
	fs.StringVar(&a.turnURIs, "turn-uris", "", "")
	fs.StringVar(&a.stunURIs, "stun-uris", "", "")
	fs.DurationVar(&a.turnTTL, "turn-ttl", auth.DefaultTURNTTL, "")
}

// secretFrom picks a secret from a flag, a file or the environment, and
// refuses two of them at once.
func secretFrom(flagName, value, file, env string, getenv func(string) string) ([]byte, error) {
	if value != "" && file != "" {
		return nil, fmt.Errorf("give --%s or --%s-file, not both", flagName, flagName)
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--%s-file: %w", flagName, err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return nil, fmt.Errorf("--%s-file %s is empty", flagName, file)
		}
		return []byte(s), nil
	}
	if value == "" {
		value = getenv(env)
	}
	if value == "" {
		return nil, nil
	}
	return []byte(value), nil
}

// apply builds cfg.Auth and cfg.ICE from the flags; with none of them set,
// both stay nil and nothing changes for clients.
func (a *authFlags) apply(cfg *loop.Config, getenv func(string) string) error {
	secret, err := secretFrom("auth-secret", a.secret, a.secretFile, authSecretEnv, getenv)
	if err != nil {
		return err
	}
	ac := auth.Config{Secret: secret, Issuer: a.issuer, Audience: a.audience, Leeway: a.leeway}
	if a.leeway == 0 {
		ac.Leeway = -1 // --auth-leeway 0 means none, not the default
	}
	if a.publicKey != "" {
		pemBytes, err := os.ReadFile(a.publicKey)
		if err != nil {
			return fmt.Errorf("--auth-public-key: %w", err)
		}
		if ac.PublicKey, err = auth.ParsePublicKeyPEM(pemBytes); err != nil {
			return fmt.Errorf("--auth-public-key %s: %w", a.publicKey, err)
		}
	}
	switch {
	case ac.Secret != nil || ac.PublicKey != nil:
		if cfg.Auth, err = auth.NewVerifier(ac); err != nil {
			return fmt.Errorf("--auth-secret/--auth-public-key: %w", err)
		}
	case a.issuer != "" || a.audience != "":
		return errors.New("--auth-issuer and --auth-audience need --auth-secret or --auth-public-key")
	}
	turnSecret, err := secretFrom("turn-secret", a.turnSecret, a.turnSecretFile, turnSecretEnv, getenv)
	if err != nil {
		return err
	}
	cfg.ICE, err = auth.NewICE(auth.TURNConfig{Secret: turnSecret, TURNURIs: splitList(a.turnURIs), STUNURIs: splitList(a.stunURIs), TTL: a.turnTTL})
	return err
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
