package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redrtc/redrtc/auth"
)

// TestASecretFileOnTheCommandLineBeatsItsVariable: REDRTC_AUTH_SECRET set in
// the environment (by a unit's EnvironmentFile, say) and --auth-secret-file
// on the command line is not two secrets at once: the command line wins, as
// for every other flag.
func TestASecretFileOnTheCommandLineBeatsItsVariable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("secret-from-the-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("REDRTC_AUTH_SECRET", "secret-from-the-environment")
	o, err := parseFlags([]string{"--auth-secret-file", file}, nil)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for secret, wantOK := range map[string]bool{"secret-from-the-file": true, "secret-from-the-environment": false} {
		token, err := auth.Sign([]byte(secret), "r", time.Minute, "", "", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.cfg.Auth.VerifyRoom(token, []byte("r")); (err == nil) != wantOK {
			t.Errorf("a token signed with the secret %s: verified %v, want %v", secret, err == nil, wantOK)
		}
	}
}
