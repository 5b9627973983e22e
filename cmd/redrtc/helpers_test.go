package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redrtc/redrtc/internal/testkit"
)

// waitTimeout bounds every wait in these tests; nothing sleeps in place of
// synchronisation.
const waitTimeout = testkit.Timeout

// pollEvery is how often a test polls the process under test.
const pollEvery = 20 * time.Millisecond

// untilExit returns check, made to give up at once, with its last error,
// when exited is closed (the process under test has ended): waiting on can
// then only run out the time.
func untilExit(exited <-chan struct{}, check func() error) func() error {
	return func() error {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			if err = check(); err == nil {
				return nil
			}
			return testkit.GiveUp(fmt.Errorf("the process exited first; last error: %w", err))
		default:
			return err
		}
	}
}

// processGone returns a check that process pid has exited.
func processGone(pid int) func() error {
	return func() error {
		if running(pid) {
			return fmt.Errorf("pid %d still running", pid)
		}
		return nil
	}
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// busyPort returns a port on 127.0.0.1 that the test listens on until it ends.
func busyPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is the redrtc binary running as a subprocess, its stdout and stderr
// captured (so neither is a terminal).
type proc struct {
	t      *testing.T
	args   []string
	cmd    *exec.Cmd
	stdout testkit.LockedBuffer
	stderr testkit.LockedBuffer
	exited chan struct{} // closed once the process has been waited for
	err    error         // from Wait, set before exited is closed
}

// pipesLinger bounds how long the process's stdout and stderr may stay open
// after it exits; only a child that inherited them keeps them open longer.
const pipesLinger = 2 * time.Second

// startBinary starts the binary built by TestMain. The process is killed when
// the test ends, whatever happened, and so is the daemon it reported starting
// with --daemon; its output is logged if the test failed.
func startBinary(t *testing.T, args ...string) *proc {
	t.Helper()
	return startBinaryEnv(t, os.Environ(), args...)
}

// startBinaryEnv is startBinary with the process's whole environment given.
func startBinaryEnv(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	return startProgram(t, binary, env, args...)
}

// startProgram is startBinaryEnv for another program, such as one that runs
// the binary.
func startProgram(t *testing.T, program string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, args: args, exited: make(chan struct{})}
	p.cmd = exec.Command(program, args...)
	p.cmd.Env = env
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = pipesLinger
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start redrtc %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
		}
		select {
		case <-p.exited:
		case <-time.After(waitTimeout):
			t.Errorf("redrtc %s: still running %v after SIGKILL", strings.Join(args, " "), waitTimeout)
		}
		if m := backgroundRE.FindStringSubmatch(p.stdout.String()); m != nil {
			if pid, err := strconv.Atoi(m[1]); err == nil && running(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if t.Failed() {
			t.Logf("redrtc %s\n--- stdout:\n%s--- stderr:\n%s", strings.Join(args, " "), p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// backgroundRE is what the --daemon parent prints once the daemon listens.
var backgroundRE = regexp.MustCompile(`^redrtc running in the background, pid ([0-9]+)\n$`)

// runDaemonParent runs a --daemon parent to its end and returns the pid of
// the daemon it reported; the daemon is killed when the test ends, if still
// running. The caller sets up everything but the parent's stdout.
func runDaemonParent(t *testing.T, parent *exec.Cmd) int {
	t.Helper()
	var stdout bytes.Buffer
	parent.Stdout = &stdout
	if err := parent.Run(); err != nil {
		t.Fatalf("the --daemon parent (%s): %v", strings.Join(parent.Args, " "), err)
	}
	m := backgroundRE.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("parent stdout %q, want \"redrtc running in the background, pid N\"", stdout.String())
	}
	pid, _ := strconv.Atoi(m[1])
	t.Cleanup(func() {
		if running(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return pid
}

// wait returns the exit status, failing the test if the process has not
// exited within waitTimeout. A death by signal is a failure too.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(waitTimeout):
		p.t.Fatalf("redrtc %s: still running after %v", strings.Join(p.args, " "), waitTimeout)
	}
	if errors.Is(p.err, exec.ErrWaitDelay) {
		p.t.Fatalf("redrtc %s: exited, but its stdout or stderr stayed open %v longer (inherited by a child?)", strings.Join(p.args, " "), pipesLinger)
	}
	st := p.cmd.ProcessState
	if !st.Exited() {
		p.t.Fatalf("redrtc %s: did not exit by itself: %v", strings.Join(p.args, " "), st)
	}
	return st.ExitCode()
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("send %v: %v", sig, err)
	}
}

// health is the body of GET /healthz; the counts are pointers so that a
// missing one is told apart from 0.
type health struct {
	Status    string  `json:"status"`
	Clients   *int    `json:"clients"`
	Rooms     *int    `json:"rooms"`
	HeapBytes *uint64 `json:"heapBytes"`
}

// getHealth fetches http://addr/healthz.
func getHealth(addr string) (health, error) {
	var h health
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("status %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return h, fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	dec := json.NewDecoder(resp.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return h, fmt.Errorf("body: %w", err)
	}
	return h, nil
}

// healthIs returns a check that /healthz at addr reports status ok and
// exactly these counts.
func healthIs(addr string, clients, rooms int) func() error {
	return func() error {
		h, err := getHealth(addr)
		if err != nil {
			return err
		}
		if h.Status != "ok" || h.Clients == nil || *h.Clients != clients || h.Rooms == nil || *h.Rooms != rooms {
			return fmt.Errorf("healthz %s, want status ok, clients %d, rooms %d", fmtHealth(h), clients, rooms)
		}
		return nil
	}
}

func fmtHealth(h health) string {
	n := func(p *int) string {
		if p == nil {
			return "missing"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("{status %q, clients %s, rooms %s}", h.Status, n(h.Clients), n(h.Rooms))
}

// portClosed reports nil once nothing accepts connections on addr.
func portClosed(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil
	}
	_ = c.Close()
	return fmt.Errorf("%s still accepts connections", addr)
}

// logLines parses stderr as JSON lines, failing the test on any line that is
// not a JSON object with a level, a time and a message.
func logLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		for _, k := range []string{"level", "time", "message"} {
			if _, ok := m[k].(string); !ok {
				t.Fatalf("log line has no string %q: %q", k, line)
			}
		}
		lines = append(lines, m)
	}
	return lines
}

// logged returns a check that stderr holds a complete log line with this
// message.
func logged(p *proc, message string) func() error {
	return func() error {
		if findLog(p.stderr.String(), message) == "" {
			return fmt.Errorf("no %q line logged yet", message)
		}
		return nil
	}
}

// findLog returns the first complete line of stderr whose message is
// message, or "".
func findLog(stderr, message string) string {
	for line := range strings.Lines(stderr) {
		var m struct {
			Message string `json:"message"`
		}
		if strings.HasSuffix(line, "\n") && json.Unmarshal([]byte(line), &m) == nil && m.Message == message {
			return line
		}
	}
	return ""
}

// running reports whether process pid exists and has not exited; a zombie,
// which has exited but not been reaped, counts as not running.
func running(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		if _, noProc := os.Stat("/proc/self/stat"); noProc != nil {
			return true // no /proc to look in: trust kill
		}
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state is the field after the command name's closing parenthesis.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// afterStarting is stderr without its first line when that is the server's
// "starting" line.
func afterStarting(stderr string) string {
	first, rest, _ := strings.Cut(stderr, "\n")
	if findLog(first+"\n", "starting") != "" {
		return rest
	}
	return stderr
}
