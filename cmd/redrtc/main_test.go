package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sys/unix"

	"github.com/redrtc/redrtc/internal/testkit"
	"github.com/redrtc/redrtc/loop"
)

// binary is the redrtc command, built once by TestMain and stamped the way
// the Makefile stamps a release.
var binary string

const stampedCommit = "c0ffee1"

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "redrtc-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "redrtc")
	build := exec.Command("go", "build",
		"-ldflags", "-X main.commit="+stampedCommit,
		"-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// ---------------------------------------------------------------------------
// The command line, in-process.

// runCLI calls run(args) and returns its exit status and output.
//
// The arguments are prefixed with "-p <a port this test holds> -i 127.0.0.1",
// which later flags override. A command line that run wrongly accepts then
// fails to listen and returns 1 at once, instead of serving on :8080 and
// catching the test process's signals.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	guard := []string{"-p", strconv.Itoa(busyPort(t)), "-i", "127.0.0.1"}
	var out, errOut bytes.Buffer
	code = run(append(guard, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpPrintsUsageOfEveryFlag(t *testing.T) {
	// Each flag with its short and long name, and the ranges the errors name.
	mentions := []string{
		"Usage: redrtc [options]",
		"-p, --port N", "(1-65535; default 8080)",
		"-i, --interface ADDR", "(default all)",
		"-c, --clients N", "(1-65536; default 1024)",
		"-r, --rooms N", "(1-10000; default 256)",
		"-t, --timeout SEC", "(30-86400;", "default 300)",
		"--debug-addr HOST:PORT",
		"--log-file PATH",
		"--pid-file PATH",
		"REDRTC_PORT", "REDRTC_ALLOWED_ORIGINS",
		"-d, --daemon",
		"-v, --verbose",
		"-h, --help",
		"    --version",
	}
	tests := []struct {
		name string
		args []string
	}{
		{"-h", []string{"-h"}},
		{"--help", []string{"--help"}},
		{"-help", []string{"-help"}},
		{"--help after other flags", []string{"--port", "9000", "-v", "--help"}},
		{"-h in a bundle of short flags, as getopt reads it", []string{"-vh"}},
		{"--help wins over a bad value before it", []string{"--clients", "65537", "--help"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
			if stderr != "" {
				t.Errorf("stderr %q, want nothing", stderr)
			}
			if !strings.HasPrefix(stdout, "Usage: redrtc [options]\n") {
				t.Errorf("stdout does not start with the usage line:\n%s", stdout)
			}
			for _, m := range mentions {
				if !strings.Contains(stdout, m) {
					t.Errorf("usage does not mention %q:\n%s", m, stdout)
				}
			}
		})
	}
}

func TestVersionPrintsVersionCommitAndGo(t *testing.T) {
	code, stdout, stderr := runCLI(t, "--version")
	want := fmt.Sprintf("redrtc %s (commit %s, %s %s/%s)\n", version, builtCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if code != 0 || stdout != want || stderr != "" {
		t.Errorf("--version: exit %d, stdout %q, stderr %q; want exit 0, stdout %q, no stderr", code, stdout, stderr, want)
	}
	if !semver.MatchString(version) {
		t.Errorf("version %q is not a semantic version (MAJOR.MINOR.PATCH, https://semver.org)", version)
	}
}

// semver is a semantic version, without build metadata
// (https://semver.org, its suggested regular expression, shortened).
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

func TestBadCommandLineExits2NamingTheFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr, after "redrtc: "
	}{
		{"clients zero", []string{"--clients", "0"}, "--clients must be 1-65536, got 0"},
		{"clients above the maximum", []string{"--clients", "65537"}, "--clients must be 1-65536, got 65537"},
		{"clients negative, short flag", []string{"-c", "-1"}, "--clients must be 1-65536, got -1"},
		{"clients zero, attached to the short flag", []string{"-c0"}, "--clients must be 1-65536, got 0"},
		{"clients not a number, attached", []string{"-vcabc"}, `--clients must be a whole number, 1-65536, got "abc"`},
		{"a bundle with a letter that is no flag", []string{"-dx"}, "flag provided but not defined: -dx"},
		{"clients not a number", []string{"-c", "abc"}, `--clients must be a whole number, 1-65536, got "abc"`},
		{"rooms zero", []string{"--rooms", "0"}, "--rooms must be 1-10000, got 0"},
		{"rooms above the maximum", []string{"--rooms", "10001"}, "--rooms must be 1-10000, got 10001"},
		{"rooms above the maximum, short flag", []string{"-r", "20000"}, "--rooms must be 1-10000, got 20000"},
		{"rooms not a number", []string{"--rooms", "1e3"}, `--rooms must be a whole number, 1-10000, got "1e3"`},
		{"timeout below the minimum", []string{"--timeout", "29"}, "--timeout must be at least 30 seconds, got 29s"},
		{"timeout below the minimum, short flag", []string{"-t", "10"}, "--timeout must be at least 30 seconds, got 10s"},
		{"timeout zero", []string{"--timeout", "0"}, "--timeout must be at least 30 seconds, got 0s"},
		{"timeout negative", []string{"-t", "-30"}, "--timeout must be at least 30 seconds, got -30s"},
		{"timeout with a unit", []string{"--timeout", "60s"}, `--timeout must be a whole number, 30-86400 seconds, got "60s"`},
		{"timeout in hex", []string{"-t", "0x1e"}, `--timeout must be a whole number, 30-86400 seconds, got "0x1e"`},
		{"timeout above the maximum", []string{"--timeout", "86401"}, "--timeout must be at most 86400 seconds, got 86401s"},
		{"timeout that would overflow a duration", []string{"--timeout=18446744114"}, "--timeout must be at most 86400 seconds, got 18446744114s"},
		{"timeout that overflows an int", []string{"-t", "99999999999999999999"}, `--timeout must be a whole number, 30-86400 seconds, got "99999999999999999999"`},
		{"join-timeout below the minimum", []string{"--join-timeout", "29"}, "--join-timeout must be at least 30 seconds, got 29s"},
		{"join-timeout above the maximum", []string{"--join-timeout", "9223372037"}, "--join-timeout must be at most 86400 seconds, got 9223372037s"},
		{"rate-kick above the maximum", []string{"--rate-kick", "86401"}, "--rate-kick must be 1-86400, got 86401"},
		{"rate not a number", []string{"--rate", "fast"}, `--rate must be a whole number, 0-1000000, got "fast"`},
		{"max-outbound below the minimum", []string{"--max-outbound", "1000"}, "--max-outbound must be 65536-1073741824, got 1000"},
		{"allowed origins empty", []string{"--allowed-origins", ""}, `--allowed-origins "" names no origin; give * to allow every origin`},
		{"allowed origin with a trailing slash", []string{"--allowed-origins", "https://app.example.com/"}, `--allowed-origins: "https://app.example.com/" is not an origin like https://example.com`},
		{"allowed origin with a user", []string{"--allowed-origins", "https://me@app.example.com"}, `--allowed-origins: "https://me@app.example.com" is not an origin like https://example.com`},
		{"allowed origin with a port out of range", []string{"--allowed-origins", "https://a.example:99999"}, `--allowed-origins: "https://a.example:99999" is not an origin like https://example.com`},
		{"allowed origin with an empty port", []string{"--allowed-origins", "https://a.example:"}, `--allowed-origins: "https://a.example:" is not an origin like https://example.com`},
		{"allowed origin with a query mark", []string{"--allowed-origins", "https://a.example?"}, `--allowed-origins: "https://a.example?" is not an origin like https://example.com`},
		{"allowed origin without a scheme", []string{"--allowed-origins", "app.example.com"}, `--allowed-origins: "app.example.com" is not an origin like https://example.com`},
		{"allowed origin as a pattern", []string{"--allowed-origins", "https://app.example.com,https://*.example.com"}, `--allowed-origins: "https://*.example.com" is a pattern; list each origin, like https://app.example.com`},
		{"allowed origins only commas", []string{"--allowed-origins=, ,"}, `--allowed-origins ", ," names no origin; give * to allow every origin`},
		{"debug-addr without a port", []string{"--debug-addr", "6060"}, `--debug-addr must be HOST:PORT, e.g. 127.0.0.1:6060, got "6060"`},
		{"debug-addr with a port out of range", []string{"--debug-addr=127.0.0.1:65536"}, `--debug-addr's port must be 0-65535 (0 for any free port), got "65536"`},
		{"debug-addr with a named port", []string{"--debug-addr", "localhost:http"}, `--debug-addr's port must be 0-65535 (0 for any free port), got "http"`},
		{"debug-addr with a signed port", []string{"--debug-addr", "127.0.0.1:-0"}, `--debug-addr's port must be 0-65535 (0 for any free port), got "-0"`},
		{"port above the maximum", []string{"--port", "70000"}, "--port must be 1-65535, got 70000"},
		{"port zero", []string{"--port", "0"}, "--port must be 1-65535, got 0"},
		{"port zero, short flag", []string{"-p", "0"}, "--port must be 1-65535, got 0"},
		{"port not a number", []string{"-p", "http"}, `--port must be a whole number, 1-65535, got "http"`},
		{"port with a sign and a letter", []string{"--port=+80x"}, `--port must be a whole number, 1-65535, got "+80x"`},
		{"interface that does not exist", []string{"--interface", "nosuchif0"}, `--interface "nosuchif0" is neither an IP address nor an interface`},
		{"interface that does not exist, short flag", []string{"-i", "nosuchif0"}, `--interface "nosuchif0" is neither an IP address nor an interface`},
		{"unexpected positional argument", []string{"serve"}, `unexpected argument "serve"`},
		{"positional argument after flags", []string{"-v", "--port", "9000", "extra"}, `unexpected argument "extra"`},
		{"a bundle after --", []string{"--", "-dv"}, `unexpected argument "-dv"`},
		{"unknown flag", []string{"--bogus"}, "flag provided but not defined: -bogus"},
		{"flag without its value", []string{"--port"}, "flag needs an argument: -port"},
		{"value for a boolean flag", []string{"--daemon=maybe"}, `invalid boolean value "maybe" for -daemon`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			want := "redrtc: " + tc.want
			if !strings.HasPrefix(stderr, want) || !strings.HasSuffix(stderr, "\nTry 'redrtc --help'.\n") {
				t.Errorf("stderr:\n%s\nwant %q... then \"Try 'redrtc --help'.\"", stderr, want)
			}
		})
	}
}

func TestParseFlagsLongAndShortNames(t *testing.T) {
	defaults := options{cfg: loop.Config{
		Port:      8080,
		Interface: "all",
		Clients:   loop.DefaultClients,
		Rooms:     loop.DefaultRooms,
		Timeout:   loop.DefaultTimeout,
	}}
	with := func(change func(*options)) options {
		o := defaults
		change(&o)
		return o
	}
	tests := []struct {
		name string
		args []string
		want options
	}{
		{"no flags: the defaults", nil, defaults},
		{"--port", []string{"--port", "9000"}, with(func(o *options) { o.cfg.Port = 9000 })},
		{"-p", []string{"-p", "9000"}, with(func(o *options) { o.cfg.Port = 9000 })},
		{"--port=N", []string{"--port=9000"}, with(func(o *options) { o.cfg.Port = 9000 })},
		{"highest port", []string{"-p", "65535"}, with(func(o *options) { o.cfg.Port = 65535 })},
		{"a leading zero is still decimal", []string{"-p", "0443"}, with(func(o *options) { o.cfg.Port = 443 })},
		{"--interface", []string{"--interface", "127.0.0.1"}, with(func(o *options) { o.cfg.Interface = "127.0.0.1" })},
		{"-i", []string{"-i", "lo"}, with(func(o *options) { o.cfg.Interface = "lo" })},
		{"--clients", []string{"--clients", "65536"}, with(func(o *options) { o.cfg.Clients = 65536 })},
		{"-c", []string{"-c", "1"}, with(func(o *options) { o.cfg.Clients = 1 })},
		{"--rooms", []string{"--rooms", "10000"}, with(func(o *options) { o.cfg.Rooms = 10000 })},
		{"-r", []string{"-r", "1"}, with(func(o *options) { o.cfg.Rooms = 1 })},
		{"--timeout in seconds", []string{"--timeout", "30"}, with(func(o *options) { o.cfg.Timeout = 30 * time.Second })},
		{"-t in seconds", []string{"-t", "3600"}, with(func(o *options) { o.cfg.Timeout = time.Hour })},
		{"--daemon", []string{"--daemon"}, with(func(o *options) { o.daemon = true })},
		{"-d", []string{"-d"}, with(func(o *options) { o.daemon = true })},
		{"--verbose", []string{"--verbose"}, with(func(o *options) { o.verbose = true })},
		{"-v", []string{"-v"}, with(func(o *options) { o.verbose = true })},
		{"--version", []string{"--version"}, with(func(o *options) { o.version = true })},
		{"the last of a flag's names wins", []string{"-p", "1", "--port", "2", "-i", "lo", "--interface", "::1"},
			with(func(o *options) { o.cfg.Port, o.cfg.Interface = 2, "::1" })},
		{"every short flag", []string{"-p", "1", "-i", "lo", "-c", "2", "-r", "3", "-t", "40", "-d", "-v"},
			options{cfg: loop.Config{Port: 1, Interface: "lo", Clients: 2, Rooms: 3, Timeout: 40 * time.Second}, daemon: true, verbose: true}},
		{"getopt: a value attached to its short flag", []string{"-p9000", "-ilo"},
			with(func(o *options) { o.cfg.Port, o.cfg.Interface = 9000, "lo" })},
		{"getopt: short flags bundled", []string{"-dv"}, with(func(o *options) { o.daemon, o.verbose = true, true })},
		{"getopt: a bundle ending in a flag with its value attached", []string{"-vdc2000"},
			with(func(o *options) { o.verbose, o.daemon, o.cfg.Clients = true, true, 2000 })},
		{"getopt: a bundle ending in a flag whose value follows", []string{"-vt", "60"},
			with(func(o *options) { o.verbose, o.cfg.Timeout = true, time.Minute })},
		{"getopt: every short flag attached", []string{"-p1", "-ilo", "-c2", "-r3", "-t40", "-dv"},
			options{cfg: loop.Config{Port: 1, Interface: "lo", Clients: 2, Rooms: 3, Timeout: 40 * time.Second}, daemon: true, verbose: true}},
		{"a long name with one dash is still the long flag", []string{"-port", "9000", "-rate", "7"},
			with(func(o *options) { o.cfg.Port, o.cfg.Rate = 9000, 7 })},
		{"a value that looks like a bundle is a value", []string{"-i", "-dv"}, with(func(o *options) { o.cfg.Interface = "-dv" })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := parseFlags(tc.args, &stderr)
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tc.args, err)
			}
			got.flags, got.env = nil, nil
			if !reflect.DeepEqual(got, withHardeningDefaults(tc.want)) {
				t.Errorf("parseFlags(%q)\n got %+v\nwant %+v", tc.args, got, tc.want)
			}
			if stderr.Len() > 0 {
				t.Errorf("parseFlags wrote %q", stderr.String())
			}
		})
	}
}

// ---------------------------------------------------------------------------
// The binary, as a subprocess.

func TestBinaryExitStatus(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // regexp
		stderr string // regexp
	}{
		{"--version is stamped at build time", []string{"--version"}, 0,
			`^redrtc ` + regexp.QuoteMeta(version) + ` \(commit ` + regexp.QuoteMeta(stampedCommit) + `, go1\S* \S+/\S+\)\n$`, `^$`},
		{"--help", []string{"--help"}, 0, `^Usage: redrtc \[options\]\n`, `^$`},
		{"a value out of range", []string{"--rooms", "10001"}, 2, `^$`, `^redrtc: --rooms must be 1-10000, got 10001\n`},
		{"an unknown flag", []string{"--bogus"}, 2, `^$`, `^redrtc: flag provided but not defined: -bogus\n`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startBinary(t, tc.args...)
			if code := p.wait(); code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if out := p.stdout.String(); !regexp.MustCompile(tc.stdout).MatchString(out) {
				t.Errorf("stdout %q, want match for %s", out, tc.stdout)
			}
			if out := p.stderr.String(); !regexp.MustCompile(tc.stderr).MatchString(out) {
				t.Errorf("stderr %q, want match for %s", out, tc.stderr)
			}
		})
	}
}

// serve starts redrtc with these flags on a free port and waits until
// /healthz answers with no clients and no rooms. It returns the process and
// the address it serves on.
func serve(t *testing.T, flags ...string) (*proc, string) {
	t.Helper()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p := startBinary(t, append([]string{"-p", strconv.Itoa(port)}, flags...)...)
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, healthIs(addr, 0, 0)))
	return p, addr
}

// wsURL is the WebSocket URL of a server listening on addr.
func wsURL(addr string) string { return "ws://" + addr + "/" }

func TestServerAnswersHealthzAndWebSocketAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	p, addr := serve(t, "-i", "127.0.0.1")

	c := testkit.Dial(t, wsURL(addr))
	first := c.ID
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, healthIs(addr, 1, 0)))
	second := testkit.Dial(t, wsURL(addr)).ID
	if first == second {
		t.Errorf("two clients got the same id %s", first)
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, healthIs(addr, 2, 0)))

	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit %d after SIGTERM with clients connected, want 0", code)
	}
	if _, err := c.Read(); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("client read after shutdown: %v, want close 1001 (going away)", err)
	}
	if err := portClosed(addr); err != nil {
		t.Error(err)
	}
}

func TestASecondSignalExitsWithoutWaitingForClients(t *testing.T) {
	t.Parallel()
	p, addr := serve(t, "-i", "127.0.0.1")
	// It never reads, so it never answers the server's close frame: the
	// graceful shutdown waits 2 s for it, the window for the second signal.
	testkit.DialNoID(t, wsURL(addr))
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, healthIs(addr, 1, 0)))

	p.signal(syscall.SIGTERM)
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, logged(p, "shutting down")))
	p.signal(syscall.SIGINT)
	if code := p.wait(); code != 1 {
		t.Errorf("exit %d after a second signal, want 1", code)
	}
	line := findLog(p.stderr.String(), "second signal: exiting without waiting for clients")
	if line == "" || !strings.Contains(line, `"level":"warn"`) || !strings.Contains(line, `"signal":"interrupt"`) {
		t.Errorf("second signal logged as %q, want a warning naming the signal", line)
	}
}

func TestServerListensOnTheInterfaceGiven(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
	}{
		{"-i with an IP address", []string{"-i", "127.0.0.1"}},
		{"--interface=IP", []string{"--interface=127.0.0.1"}},
		{"-i with the loopback interface's name", []string{"-i", "lo"}},
		{"--interface with the loopback interface's name", []string{"--interface", "lo"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, addr := serve(t, tc.flags...)
			testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, logged(p, "listening")))
			var listening struct {
				Addr string `json:"addr"`
			}
			if err := json.Unmarshal([]byte(findLog(p.stderr.String(), "listening")), &listening); err != nil || listening.Addr != addr {
				t.Errorf("listening on %q (%v), want %s", listening.Addr, err, addr)
			}
			p.signal(syscall.SIGTERM)
			if code := p.wait(); code != 0 {
				t.Errorf("exit %d after SIGTERM, want 0", code)
			}
		})
	}
}

func TestServerLogsJSONLinesAndStopsOnSignal(t *testing.T) {
	tests := []struct {
		sig  syscall.Signal
		name string // as the log line names it
	}{
		{syscall.SIGTERM, "terminated"},
		{syscall.SIGINT, "interrupt"},
	}
	for _, tc := range tests {
		t.Run(tc.sig.String(), func(t *testing.T) {
			t.Parallel()
			p, addr := serve(t, "-i", "127.0.0.1", "--clients", "7", "--rooms", "8", "--timeout", "45")
			testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, logged(p, "listening")))
			p.signal(tc.sig)
			if code := p.wait(); code != 0 {
				t.Errorf("exit %d after %v, want 0", code, tc.sig)
			}

			// Everything it wrote to a non-terminal stderr is JSON lines.
			lines := logLines(t, p.stderr.String())
			want := map[string]map[string]any{
				"listening": {
					"level": "info", "addr": addr,
					"clients": float64(7), "rooms": float64(8), "timeout": float64(45),
					"join-timeout": float64(loop.DefaultJoinTimeout / time.Second),
				},
				"shutting down": {"level": "info", "signal": tc.name},
				"stopped":       {"level": "info"},
			}
			for i, line := range lines {
				msg := line["message"].(string)
				if strings.Contains(strings.ToLower(msg), "gnet") {
					t.Errorf("gnet's own line at %s level: %q", line["level"], msg)
				}
				if msg == "stopped" && i != len(lines)-1 {
					t.Errorf("\"stopped\" is not the last line")
				}
				fields, ok := want[msg]
				if !ok {
					continue
				}
				delete(want, msg)
				for k, v := range fields {
					if line[k] != v {
						t.Errorf("%q line has %s=%v, want %v", msg, k, line[k], v)
					}
				}
				if _, err := time.Parse(time.RFC3339, line["time"].(string)); err != nil {
					t.Errorf("%q line's time: %v", msg, err)
				}
			}
			for msg := range want {
				t.Errorf("no %q line logged", msg)
			}
		})
	}
}

func TestVerboseLogsDebugMessages(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		debug bool
	}{
		{"without -v", nil, false},
		{"-v", []string{"-v"}, true},
		{"--verbose", []string{"--verbose"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// With --clients 1 a second client is refused, which is logged
			// at debug level.
			p, addr := serve(t, append([]string{"-i", "127.0.0.1", "-c", "1"}, tc.flags...)...)
			testkit.Dial(t, wsURL(addr))
			testkit.DialNoID(t, wsURL(addr)).ExpectClose(websocket.StatusTryAgainLater)

			// Stopping the process flushes all it logged.
			p.signal(syscall.SIGTERM)
			if code := p.wait(); code != 0 {
				t.Errorf("exit %d after SIGTERM, want 0", code)
			}
			var debugLines []string
			for _, line := range logLines(t, p.stderr.String()) {
				if line["level"] == "debug" {
					debugLines = append(debugLines, line["message"].(string))
				}
			}
			if refusedLogged := findLog(p.stderr.String(), "client refused") != ""; refusedLogged != tc.debug {
				t.Errorf("\"client refused\" logged: %v, want %v", refusedLogged, tc.debug)
			}
			if !tc.debug && len(debugLines) > 0 {
				t.Errorf("debug lines without -v: %q", debugLines)
			}
		})
	}
}

func TestBusyPortExits1WithTheReason(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		// JSON is whether stderr is the server's JSON log rather than the
		// --daemon parent's message.
		JSON bool
	}{
		{"in the foreground", nil, true},
		{"--daemon", []string{"--daemon"}, false},
		{"-d", []string{"-d"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			port := busyPort(t)
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			p := startBinary(t, append([]string{"-p", strconv.Itoa(port), "-i", "127.0.0.1"}, tc.flags...)...)
			if code := p.wait(); code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			stderr := p.stderr.String()
			for _, reason := range []string{"listen: listen tcp " + addr + ": ", ": bind: address already in use"} {
				if !strings.Contains(stderr, reason) {
					t.Errorf("stderr does not say %q:\n%s", reason, stderr)
				}
			}
			if tc.JSON {
				if findLog(stderr, "cannot start") == "" {
					t.Errorf("no \"cannot start\" line logged:\n%s", stderr)
				}
				logLines(t, stderr)
			} else if !strings.HasPrefix(stderr, "redrtc: daemon: listen: listen tcp "+addr+": ") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line \"redrtc: daemon: listen: listen tcp %s: <why>\"", stderr, addr)
			}
			if out := p.stdout.String(); out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

func TestDaemonDetachesAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	parent := startBinary(t, "-d", "-p", strconv.Itoa(port), "-i", "127.0.0.1")
	if code := parent.wait(); code != 0 {
		t.Fatalf("the --daemon parent exited %d, want 0", code)
	}
	m := backgroundRE.FindStringSubmatch(parent.stdout.String())
	if m == nil {
		t.Fatalf("parent stdout %q, want \"redrtc running in the background, pid N\"", parent.stdout.String())
	}
	pid, _ := strconv.Atoi(m[1]) // startBinary kills it when the test ends
	if s := parent.stderr.String(); s != "" {
		t.Errorf("parent stderr %q, want nothing", s)
	}
	if pid == parent.cmd.Process.Pid {
		t.Errorf("pid %d is the parent's own", pid)
	}

	// The parent returns only once the daemon listens: no polling here.
	if err := healthIs(addr, 0, 0)(); err != nil {
		t.Fatalf("right after the parent returned: %v", err)
	}
	if sid, err := unix.Getsid(pid); err != nil || sid != pid {
		t.Errorf("daemon session %d (%v), want its own session %d", sid, err, pid)
	}
	if runtime.GOOS == "linux" {
		for fd := range 3 {
			if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd)); err != nil || target != os.DevNull {
				t.Errorf("daemon fd %d is %q (%v), want %s", fd, target, err, os.DevNull)
			}
		}
	}

	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to the daemon: %v", err)
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, func() error { return portClosed(addr) })
	testkit.CheckFor(t, waitTimeout, pollEvery, processGone(pid))
}

// TestDaemonLeavesTheCallersDirectoryAndFiles: the daemon runs in /, and a
// pipe its caller left open is not held open by it (make's jobserver, a
// script reading $(...) until every writer is gone).
func TestDaemonLeavesTheCallersDirectoryAndFiles(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	t.Parallel()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	pipe, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", pw.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	parent := exec.Command(binary, "-d", "-p", strconv.Itoa(freePort(t)), "-i", "127.0.0.1")
	parent.Dir = t.TempDir()
	// fd 3 and fd 4 in the parent, as a caller would leave them; the
	// daemon's own fd 3 is its ready pipe, so the one to look for is 4.
	parent.ExtraFiles = []*os.File{pw, pw}
	pid := runDaemonParent(t, parent)

	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil || cwd != "/" {
		t.Errorf("the daemon's working directory is %q (%v), want /", cwd, err)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); target == pipe {
			t.Errorf("the daemon holds the caller's pipe as fd %s", fd.Name())
		}
	}
}

// TestDaemonKeepsAnIgnoredSIGHUPIgnored: under nohup, the daemon ignores
// SIGHUP as its caller asked, so a hangup does not stop it.
func TestDaemonKeepsAnIgnoredSIGHUPIgnored(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	nohup := testkit.RequireTool(t, "apt-get install coreutils", "nohup")
	t.Parallel()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	pid := runDaemonParent(t, exec.Command(nohup, binary, "-d", "-p", strconv.Itoa(port), "-i", "127.0.0.1"))
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var ignored uint64
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			ignored, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	if ignored&(1<<(syscall.SIGHUP-1)) == 0 {
		t.Fatalf("the daemon does not ignore SIGHUP (SigIgn %x)", ignored)
	}
	if err := healthIs(addr, 0, 0)(); err != nil {
		t.Fatalf("the daemon: %v", err)
	}
}

// TestInterruptingTheDaemonParentStopsTheDaemon: the child runs in its own
// session, so a Ctrl-C while the parent waits for it reaches the parent
// alone; the parent must not leave behind a server whose pid it never told.
func TestInterruptingTheDaemonParentStopsTheDaemon(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("finds the child in /proc")
	}
	t.Parallel()
	// The child is caught and stopped before it reports ready; it may be
	// too quick for that, and then the parent simply succeeds. Each try
	// that catches it is a full check.
	const tries = 20
	caught := 0
	for range tries {
		parent := startBinary(t, "-d", "-p", strconv.Itoa(freePort(t)), "-i", "127.0.0.1")
		child := daemonChildOf(parent.cmd.Process.Pid, parent.exited)
		if child == 0 || syscall.Kill(child, syscall.SIGSTOP) != nil {
			parent.wait()
			continue
		}
		t.Cleanup(func() {
			if running(child) {
				_ = syscall.Kill(child, syscall.SIGKILL)
			}
		})
		_ = parent.cmd.Process.Signal(syscall.SIGINT)
		code := parent.wait()
		if backgroundRE.MatchString(parent.stdout.String()) {
			_ = syscall.Kill(child, syscall.SIGKILL)
			continue // the child reported ready before it was stopped
		}
		if strings.Contains(parent.stderr.String(), "address already in use") {
			continue // freePort's port was taken meanwhile: the child could not start
		}
		caught++
		if code != 1 {
			t.Errorf("the interrupted parent exited %d, want 1", code)
		}
		if s := parent.stderr.String(); !strings.Contains(s, "interrupt before the background process was ready; stopped it") {
			t.Errorf("parent stderr %q, want it to say the background process was stopped", s)
		}
		if running(child) {
			t.Errorf("the background process %d still runs after its parent was interrupted", child)
		}
		break
	}
	if caught == 0 {
		t.Skipf("in %d tries the background process was ready before it could be stopped", tries)
	}
}

// daemonChildOf returns the pid of the daemon process that the --daemon
// parent pid started, once it runs the binary (a child stopped between fork
// and exec would stop its parent too), looking until then or until the
// parent exits (then 0). It spins rather than polls: the child must be found
// before it starts listening.
func daemonChildOf(pid int, exited <-chan struct{}) int {
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return 0
		default:
		}
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			if fields := strings.Fields(string(b)); len(fields) > 0 {
				env, _ := os.ReadFile("/proc/" + fields[0] + "/environ")
				if bytes.Contains(env, []byte(daemonEnv+"=")) {
					child, _ := strconv.Atoi(fields[0])
					return child
				}
			}
		}
	}
	return 0
}

// withHardeningDefaults fills in the hardening flags' defaults, which every
// parse sets explicitly.
func withHardeningDefaults(o options) options {
	if o.cfg.Rate == 0 {
		o.cfg.Rate = loop.DefaultRate
	}
	if o.cfg.Burst == 0 {
		o.cfg.Burst = loop.DefaultBurst
	}
	if o.cfg.RateKick == 0 {
		o.cfg.RateKick = loop.DefaultRateKick
	}
	if o.cfg.MaxOutbound == 0 {
		o.cfg.MaxOutbound = loop.DefaultMaxOutbound
	}
	if o.cfg.JoinTimeout == 0 {
		o.cfg.JoinTimeout = loop.DefaultJoinTimeout
	}
	if o.cfg.ResumeGrace == 0 {
		o.cfg.ResumeGrace = loop.DefaultResumeGrace
	}
	return o
}

// TestDaemonLogsToAFileGivenAsStderr: with --daemon, a log file given as
// stderr (redrtc -d 2>>file) receives the daemon's logs, from start to exit.
func TestDaemonLogsToAFileGivenAsStderr(t *testing.T) {
	t.Parallel()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "redrtc.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	parent := exec.Command(binary, "-d", "-p", strconv.Itoa(port), "-i", "127.0.0.1")
	parent.Stderr = logFile
	pid := runDaemonParent(t, parent)
	logs := func() string {
		b, err := os.ReadFile(logFile.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if findLog(logs(), "listening") == "" {
		t.Errorf("the log file lacks the \"listening\" line once the parent has returned:\n%s", logs())
	}
	if err := healthIs(addr, 0, 0)(); err != nil {
		t.Fatalf("the daemon: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to the daemon: %v", err)
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, processGone(pid))
	if findLog(logs(), "shutting down") == "" {
		t.Errorf("the log file lacks the \"shutting down\" line:\n%s", logs())
	}
	logLines(t, logs())
}
