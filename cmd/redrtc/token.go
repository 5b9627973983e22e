package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/redrtc/redrtc/auth"
)

const tokenUsage = `Usage: redrtc token --room ROOM [--ttl 1h] [options]

Prints an HS256 room token, for tests and for backends without a JWT
library. The secret comes from --auth-secret, --auth-secret-file or
REDRTC_AUTH_SECRET, as for the server.

Options:
      --room ROOM       the room the token admits to; * for any room
      --ttl D           how long the token is valid (default 1h)
      --auth-secret S, --auth-secret-file FILE  the HS256 secret
      --auth-issuer ISS, --auth-audience AUD  set the iss and aud claims
`

// runToken is `redrtc token`; it returns the exit status.
func runToken(args []string, stdout, stderr io.Writer) int {
	var a authFlags
	var room string
	var ttl time.Duration
	fs := flag.NewFlagSet("redrtc token", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.register(fs, false)
	fs.StringVar(&room, "room", "", "")
	fs.DurationVar(&ttl, "ttl", time.Hour, "")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, _ = io.WriteString(stdout, tokenUsage)
		return 0
	case err == nil && fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case err == nil && room == "":
		err = errors.New("--room is required (* for any room)")
	}
	var secret []byte
	if err == nil {
		secret, err = secretFrom("auth-secret", a.secret, a.secretFile, authSecretEnv, os.Getenv)
	}
	if err == nil && secret == nil {
		err = errors.New("no secret: give --auth-secret, --auth-secret-file or REDRTC_AUTH_SECRET")
	}
	if err != nil {
		fmt.Fprintf(stderr, "redrtc token: %v\nTry 'redrtc token --help'.\n", err)
		return 2
	}
	tok, err := auth.Sign(secret, room, ttl, a.issuer, a.audience, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "redrtc token: %v\n", err)
		return 2
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
