package main

import (
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	"github.com/redrtc/redrtc/internal/testkit"
)

// TestEnvironmentSetsFlagsAndTheCommandLineWins: REDRTC_ variables set the
// flags they name, and a flag given on the command line, by either of its
// names, beats its variable.
func TestEnvironmentSetsFlagsAndTheCommandLineWins(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	env := append(os.Environ(),
		"REDRTC_PORT="+strconv.Itoa(busyPort(t)), // beaten by -p
		"REDRTC_INTERFACE=127.0.0.1",
		"REDRTC_CLIENTS=7",
		"REDRTC_ROOMS=9",
		"REDRTC_TIMEOUT=45",
		"REDRTC_JOIN_TIMEOUT=not-read", // beaten by --join-timeout, so never read
		"REDRTC_ALLOWED_ORIGINS=https://app.example.com",
	)
	p := startBinaryEnv(t, env, "-p", strconv.Itoa(port), "--join-timeout", "40")
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, healthIs(addr, 0, 0)))

	var listening map[string]any
	if err := json.Unmarshal([]byte(findLog(p.stderr.String(), "listening")), &listening); err != nil {
		t.Fatalf("the listening line: %v", err)
	}
	for k, want := range map[string]any{"addr": addr, "clients": 7.0, "rooms": 9.0, "timeout": 45.0, "join-timeout": 40.0} {
		if listening[k] != want {
			t.Errorf("listening line has %s=%v, want %v", k, listening[k], want)
		}
	}
	dial := func(origin string) (*http.Response, error) {
		_, resp, err := testkit.DialWith(t, wsURL(addr), &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		return resp, err
	}
	if resp, err := dial("https://evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("an Origin REDRTC_ALLOWED_ORIGINS leaves out: %v %v, want 403", resp, err)
	}
	if _, err := dial("https://app.example.com"); err != nil {
		t.Errorf("the Origin REDRTC_ALLOWED_ORIGINS names: %v", err)
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
}

// TestBadEnvironmentValueNamesItsVariable: a bad value from the environment
// is a bad command line (exit 2) whose message names the variable, whether
// the flag's own parsing, the range check or Config's validation refuses it.
func TestBadEnvironmentValueNamesItsVariable(t *testing.T) {
	tests := []struct {
		name, variable, value string
		want                  string // all of stderr's first line, after "redrtc: "
	}{
		{"not a number", "REDRTC_PORT", "http", `--port must be a whole number, 1-65535, got "http" (from REDRTC_PORT)`},
		{"out of range", "REDRTC_CLIENTS", "0", `--clients must be 1-65536, got 0 (from REDRTC_CLIENTS)`},
		{"empty is a value, not unset", "REDRTC_ROOMS", "", `--rooms must be a whole number, 1-10000, got "" (from REDRTC_ROOMS)`},
		{"seconds", "REDRTC_RATE_KICK", "0", `--rate-kick must be 1-86400, got 0 (from REDRTC_RATE_KICK)`},
		{"a boolean", "REDRTC_DAEMON", "maybe", `invalid value "maybe" for --daemon: parse error (from REDRTC_DAEMON)`},
		{"no origin", "REDRTC_ALLOWED_ORIGINS", " , ", `--allowed-origins " , " names no origin; give * to allow every origin (from REDRTC_ALLOWED_ORIGINS)`},
		{"not an origin", "REDRTC_ALLOWED_ORIGINS", "app.example.com", `--allowed-origins: "app.example.com" is not an origin like https://example.com (from REDRTC_ALLOWED_ORIGINS)`},
		{"not an address", "REDRTC_DEBUG_ADDR", "6060", `--debug-addr must be HOST:PORT, e.g. 127.0.0.1:6060, got "6060" (from REDRTC_DEBUG_ADDR)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A port this test holds, so that a value wrongly accepted
			// fails to listen rather than serving on 8080.
			args := []string{"-i", "127.0.0.1", "-p", strconv.Itoa(busyPort(t))}
			if tc.variable == "REDRTC_PORT" {
				args = args[:2]
			}
			p := startBinaryEnv(t, append(os.Environ(), tc.variable+"="+tc.value), args...)
			if code := p.wait(); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if got, want := p.stderr.String(), "redrtc: "+tc.want+"\nTry 'redrtc --help'.\n"; got != want {
				t.Errorf("stderr\n%q\nwant\n%q", got, want)
			}
		})
	}
	// Config's validation, after parsing: the interface.
	t.Run("an interface that does not resolve", func(t *testing.T) {
		t.Parallel()
		p := startBinaryEnv(t, append(os.Environ(), "REDRTC_INTERFACE=nosuchif0.invalid"), "-p", strconv.Itoa(busyPort(t)))
		if code := p.wait(); code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
		stderr := p.stderr.String()
		if !strings.HasPrefix(stderr, `redrtc: --interface "nosuchif0.invalid" is neither an IP address nor an interface`) ||
			!strings.Contains(stderr, " (from REDRTC_INTERFACE)\n") {
			t.Errorf("stderr %q, want the interface's error naming REDRTC_INTERFACE", stderr)
		}
	})
	// A flag on the command line is never looked for in the environment.
	t.Run("a bad variable beaten by a flag", func(t *testing.T) {
		t.Parallel()
		p, _ := serveEnv(t, []string{"REDRTC_CLIENTS=abc"}, "-i", "127.0.0.1", "--clients", "5")
		p.signal(syscall.SIGTERM)
		if code := p.wait(); code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
	})
}

// TestHelpNamesEveryVariable: --help lists the variable of every long flag
// but --help and --version, which ask for something rather than configure.
func TestHelpNamesEveryVariable(t *testing.T) {
	code, stdout, _ := runCLI(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	o, err := parseFlags(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(stdout), " ")
	n := 0
	for _, name := range flagNames(o) {
		want := envVar(name) + " --" + name
		if !strings.Contains(text, want) {
			t.Errorf("--help does not name %s for --%s", envVar(name), name)
		}
		n++
	}
	if n < 12 || !strings.Contains(text, "REDRTC_ALLOWED_ORIGINS --allowed-origins") {
		t.Errorf("only %d variables listed:\n%s", n, stdout)
	}
	for _, not := range []string{"REDRTC_VERSION", "REDRTC_HELP", "REDRTC_P "} {
		if strings.Contains(text, not) {
			t.Errorf("--help lists %s", not)
		}
	}
}

// flagNames returns the long flags that have a variable.
func flagNames(o options) []string {
	var names []string
	o.flags.VisitAll(func(f *flag.Flag) {
		if len(f.Name) > 1 && !notFromEnv[f.Name] {
			names = append(names, f.Name)
		}
	})
	return names
}

// serveEnv is serve with variables added to the environment.
func serveEnv(t *testing.T, vars []string, flags ...string) (*proc, string) {
	t.Helper()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p := startBinaryEnv(t, append(os.Environ(), vars...), append([]string{"-p", strconv.Itoa(port)}, flags...)...)
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, healthIs(addr, 0, 0)))
	return p, addr
}
