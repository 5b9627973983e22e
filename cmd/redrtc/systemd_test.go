package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/redrtc/redrtc/internal/testkit"
	"github.com/redrtc/redrtc/loop"
)

// maxExposure is the highest `systemd-analyze security` rating that systemd
// calls "OK"; 7.7 ("EXPOSED") is where deploy/redrtc.service started.
const maxExposure = 2.0

// unitSettings returns deploy/redrtc.service's settings, each key's values
// in order.
func unitSettings(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("../../deploy/redrtc.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	settings := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			settings[k] = append(settings[k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return settings
}

// TestSystemdUnitIsHardened: systemd's own rating of the unit's sandbox is
// "OK", and the sandbox leaves room for 65,536 clients.
func TestSystemdUnitIsHardened(t *testing.T) {
	analyze := testkit.RequireTool(t, "apt-get install systemd", "systemd-analyze")
	t.Parallel()
	path := unitForThisBuild(t)
	// --offline: rate the file, not a unit loaded into a running systemd
	// (there may be none).
	out, err := exec.Command(analyze, "security", "--offline=true", "--no-pager", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for redrtc\.service: (\d+\.\d+) (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(string(m[1]), 64); level > maxExposure {
		t.Errorf("exposure %s %s, want at most %.1f (OK):\n%s", m[1], m[2], maxExposure, out)
	}
	t.Logf("systemd-analyze security: %s %s", m[1], m[2])

	s := unitSettings(t)
	nofile, err := strconv.Atoi(s["LimitNOFILE"][0])
	if err != nil || nofile < loop.MaxClients+64 {
		t.Errorf("LimitNOFILE=%v, want at least %d: %d clients and 64 more descriptors", s["LimitNOFILE"], loop.MaxClients+64, loop.MaxClients)
	}
}

// TestSystemdSandboxAllowsWhatTheServerDoes runs a session under strace and
// checks every system call and socket family the server used against the
// unit's SystemCallFilter= and RestrictAddressFamilies=, as systemd would
// expand them. The filter answers EPERM rather than killing, but a refused
// call would still break the server, and no systemd runs here to try the
// unit itself.
func TestSystemdSandboxAllowsWhatTheServerDoes(t *testing.T) {
	analyze := testkit.RequireTool(t, "apt-get install systemd", "systemd-analyze")
	strace := testkit.RequireTool(t, "apt-get install strace", "strace")
	t.Parallel()
	s := unitSettings(t)
	allowed := map[string]bool{}
	for _, f := range s["SystemCallFilter"] {
		deny := strings.HasPrefix(f, "~")
		for _, group := range strings.Fields(strings.TrimPrefix(f, "~")) {
			for _, call := range expandSyscallGroup(t, analyze, group) {
				allowed[call] = !deny
			}
		}
	}
	families := strings.Fields(strings.Join(s["RestrictAddressFamilies"], " "))

	trace := filepath.Join(t.TempDir(), "strace.out")
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	// -i lo: an interface name, which Go looks up over netlink. The pid
	// file tells the server's pid: a signal to strace would not reach it.
	pidFile := filepath.Join(t.TempDir(), "redrtc.pid")
	traced := startTraced(t, strace, trace, "-p", strconv.Itoa(port), "-i", "lo", "--pid-file", pidFile)
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(traced.exited, healthIs(addr, 0, 0)))
	a, b := testkit.Dial(t, wsURL(addr)), testkit.Dial(t, wsURL(addr))
	a.Join("sandboxed")
	b.Join("sandboxed")
	a.SendRaw(`{"event":"offer","data":{"targetClientId":"` + b.ID + `","offer":{"type":"offer","sdp":"v=0\r\n"}}}`)
	b.Await("offer")
	var pid int
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(traced.exited, func() (err error) {
		pid, err = strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
		return err
	}))
	// Killing strace at the end of a failed test would leave the server
	// running, detached.
	t.Cleanup(func() {
		if running(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := traced.wait(); code != 0 { // strace exits as the server did
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}

	text, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	used, opened := map[string]bool{}, map[string]bool{}
	var refused []string
	call := regexp.MustCompile(`^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]`)
	family := regexp.MustCompile(`\bsocket\((AF_[A-Z0-9]+)`)
	for line := range strings.Lines(string(text)) {
		if m := call.FindStringSubmatch(line); m != nil && !used[m[1]] {
			used[m[1]] = true
			if !allowed[m[1]] {
				refused = append(refused, m[1])
			}
		}
		if m := family.FindStringSubmatch(line); m != nil && !opened[m[1]] && !slices.Contains(families, m[1]) {
			opened[m[1]] = true
			t.Errorf("the server opened an %s socket, which RestrictAddressFamilies=%s refuses", m[1], strings.Join(families, " "))
		}
	}
	if len(used) < 20 {
		t.Fatalf("strace recorded only %d system calls:\n%s", len(used), text)
	}
	if len(refused) > 0 {
		t.Errorf("system calls the unit's SystemCallFilter= refuses: %v", refused)
	}
}

// startTraced runs the binary under strace, writing the trace to out.
func startTraced(t *testing.T, strace, out string, args ...string) *proc {
	t.Helper()
	return startProgram(t, strace, os.Environ(), append([]string{"-f", "-qq", "-o", out, binary}, args...)...)
}

// expandSyscallGroup returns the system calls a SystemCallFilter= entry
// names: a call, or a @group, expanded through its nested groups by
// systemd-analyze itself.
func expandSyscallGroup(t *testing.T, analyze, name string) []string {
	t.Helper()
	if !strings.HasPrefix(name, "@") {
		return []string{name}
	}
	out, err := exec.Command(analyze, "syscall-filter", "--no-pager", name).Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter %s: %v", name, err)
	}
	var calls []string
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line == name || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "@"):
			calls = append(calls, expandSyscallGroup(t, analyze, line)...)
		default:
			calls = append(calls, line)
		}
	}
	if len(calls) == 0 {
		t.Fatalf("systemd-analyze knows no calls in %s:\n%s", name, out)
	}
	return calls
}

// TestEnvironmentFileNamesOnlyFlags: every variable deploy/redrtc.env sets
// or shows (commented out) is a flag's, and the file as shipped, with the
// unit's Environment= under it, starts a server.
func TestEnvironmentFileNamesOnlyFlags(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile("../../deploy/redrtc.env")
	if err != nil {
		t.Fatal(err)
	}
	known := flagVariables(t)
	vars := unitSettingsEnvironment(t)
	assignment := regexp.MustCompile(`^#?(REDRTC_[A-Z_]+)=(.*)$`)
	for line := range strings.Lines(string(text)) {
		m := assignment.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		if !known[m[1]] {
			t.Errorf("deploy/redrtc.env names %s, which is no flag's variable", m[1])
		}
		if !strings.HasPrefix(line, "#") {
			vars = append(vars, m[1]+"="+m[2])
		}
	}
	p, _ := serveEnv(t, vars) // with -p, on a free port

	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
}

// unitSettingsEnvironment returns the variables of the unit's Environment=.
func unitSettingsEnvironment(t *testing.T) []string {
	t.Helper()
	var vars []string
	for _, v := range unitSettings(t)["Environment"] {
		vars = append(vars, strings.Fields(v)...)
	}
	if len(vars) == 0 {
		t.Fatal("deploy/redrtc.service sets no Environment=")
	}
	return vars
}

// flagVariables is the set of environment variables the flags read.
func flagVariables(t *testing.T) map[string]bool {
	t.Helper()
	o, err := parseFlags(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, name := range flagNames(o) {
		known[envVar(name)] = true
	}
	return known
}
