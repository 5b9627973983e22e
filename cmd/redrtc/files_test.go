package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/redrtc/redrtc/internal/testkit"
)

// readFile returns the file's contents, "" when it does not exist.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// fileLogged returns a check that the file at path holds a complete log line
// with this message.
func fileLogged(t *testing.T, path, message string) func() error {
	return func() error {
		if findLog(readFile(t, path), message) == "" {
			return fmt.Errorf("no %q line in %s yet", message, path)
		}
		return nil
	}
}

// TestLogFileIsReopenedOnSIGHUP does what logrotate does: rename the log
// file, send SIGHUP; the lines after it land in a new file at the old path,
// the old file keeps what came before.
func TestLogFileIsReopenedOnSIGHUP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "redrtc.log")
	p, addr := serve(t, "-i", "127.0.0.1", "--log-file", path)
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, fileLogged(t, path, "listening")))

	rotated := path + ".1"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGHUP)
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, fileLogged(t, path, "log file reopened")))
	c := testkit.Dial(t, wsURL(addr))
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, fileLogged(t, path, "client connected")))
	_ = c.Conn.CloseNow()
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}

	old, fresh := readFile(t, rotated), readFile(t, path)
	logLines(t, old)
	logLines(t, fresh)
	for _, m := range []string{"starting", "listening"} {
		if findLog(old, m) == "" || findLog(fresh, m) != "" {
			t.Errorf("%q is not in the rotated file alone", m)
		}
	}
	for _, m := range []string{"log file reopened", "client connected", "shutting down", "stopped"} {
		if findLog(fresh, m) == "" || findLog(old, m) != "" {
			t.Errorf("%q is not in the new file alone", m)
		}
	}
	if s := p.stderr.String(); s != "" {
		t.Errorf("stderr %q, want nothing: the logs go to --log-file", s)
	}
}

// TestLogFileThatCannotBeOpenedExits1: the reason is on stderr, where the
// caller sees it, with the variable that named the file, if one did.
func TestLogFileThatCannotBeOpenedExits1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "redrtc.log")
	reason := "redrtc: --log-file: open " + path + ": no such file or directory"
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"--log-file", nil, []string{"--log-file", path}, reason + "\n"},
		{"REDRTC_LOG_FILE", []string{"REDRTC_LOG_FILE=" + path}, nil, reason + " (from REDRTC_LOG_FILE)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"-p", strconv.Itoa(freePort(t)), "-i", "127.0.0.1"}, tc.args...)
			p := startBinaryEnv(t, append(os.Environ(), tc.env...), args...)
			if code := p.wait(); code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if s := p.stderr.String(); s != tc.want {
				t.Errorf("stderr %q, want %q", s, tc.want)
			}
		})
	}
}

// TestPidFileRefusesASecondServerAndIsRemovedOnExit: the pid file holds the
// server's pid once it listens; a second server given the same file refuses
// to start, naming the first; a clean exit removes the file; a file left by
// a server that is gone is replaced.
func TestPidFileRefusesASecondServerAndIsRemovedOnExit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "redrtc.pid")
	// Left by a server killed with SIGKILL: a pid that no lock backs.
	if err := os.WriteFile(path, []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	first, _ := serve(t, "-i", "127.0.0.1", "--pid-file", path)
	want := strconv.Itoa(first.cmd.Process.Pid) + "\n"
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(first.exited, func() error {
		if got := readFile(t, path); got != want {
			return fmt.Errorf("pid file %q, want %q", got, want)
		}
		return nil
	}))

	second := startBinary(t, "-p", strconv.Itoa(freePort(t)), "-i", "127.0.0.1", "--pid-file", path)
	if code := second.wait(); code != 1 {
		t.Errorf("a second server with the same pid file exited %d, want 1", code)
	}
	line := findLog(second.stderr.String(), "cannot start")
	if reason := "--pid-file " + path + ": redrtc is already running as pid " + strings.TrimSpace(want); !strings.Contains(line, reason) {
		t.Errorf("the second server logged %q, want %q", line, reason)
	}
	if got := readFile(t, path); got != want {
		t.Errorf("pid file %q after the second server, want %q", got, want)
	}

	first.signal(syscall.SIGTERM)
	if code := first.wait(); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pid file after exit: %v, want it removed", err)
	}
}

// TestDaemonWritesPidAndLogFilesGivenRelativePaths: the daemon runs in /,
// yet relative paths name files in its caller's directory; the parent
// returns with the daemon's pid in the pid file.
func TestDaemonWritesPidAndLogFilesGivenRelativePaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	parent := exec.Command(binary, "-d", "-p", strconv.Itoa(port), "-i", "127.0.0.1", "--log-file", "redrtc.log")
	parent.Dir = dir
	parent.Env = append(os.Environ(), "REDRTC_PID_FILE=redrtc.pid")
	pid := runDaemonParent(t, parent)
	if got := readFile(t, filepath.Join(dir, "redrtc.pid")); got != strconv.Itoa(pid)+"\n" {
		t.Errorf("pid file %q, want the daemon's pid %d", got, pid)
	}
	if findLog(readFile(t, filepath.Join(dir, "redrtc.log")), "listening") == "" {
		t.Errorf("the log file lacks the listening line once the parent has returned")
	}
	if err := healthIs(addr, 0, 0)(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, processGone(pid))
	if _, err := os.Stat(filepath.Join(dir, "redrtc.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file after the daemon's exit: %v, want it removed", err)
	}
}

// TestLogrotateConfigRotatesTheLog runs logrotate with deploy/logrotate,
// its paths moved to a temporary directory, against a running server: the
// old lines stay in redrtc.log.1, the new ones go to a new redrtc.log.
func TestLogrotateConfigRotatesTheLog(t *testing.T) {
	logrotate := testkit.RequireTool(t, "apt-get install logrotate", "logrotate", "/usr/sbin/logrotate")
	t.Parallel()
	dir := t.TempDir()
	logPath, pidPath := filepath.Join(dir, "redrtc.log"), filepath.Join(dir, "redrtc.pid")
	conf, err := os.ReadFile("../../deploy/logrotate")
	if err != nil {
		t.Fatal(err)
	}
	text := string(conf)
	for _, r := range [][2]string{{"/var/log/redrtc/redrtc.log", logPath}, {"/run/redrtc/redrtc.pid", pidPath}} {
		if !strings.Contains(text, r[0]) {
			t.Fatalf("deploy/logrotate no longer names %s", r[0])
		}
		text = strings.ReplaceAll(text, r[0], r[1])
	}
	confPath := filepath.Join(dir, "logrotate.conf")
	if err := os.WriteFile(confPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	p, addr := serve(t, "-i", "127.0.0.1", "--log-file", logPath, "--pid-file", pidPath)
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, func() error {
		if strings.TrimSpace(readFile(t, pidPath)) == "" {
			return fmt.Errorf("no pid in %s yet", pidPath)
		}
		return fileLogged(t, logPath, "listening")()
	}))
	out, err := exec.Command(logrotate, "--force", "--state", filepath.Join(dir, "state"), confPath).CombinedOutput()
	if err != nil {
		t.Fatalf("logrotate: %v\n%s", err, out)
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, fileLogged(t, logPath, "log file reopened")))
	testkit.Dial(t, wsURL(addr))
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, fileLogged(t, logPath, "client connected")))
	if old := readFile(t, logPath+".1"); findLog(old, "listening") == "" || findLog(old, "client connected") != "" {
		t.Errorf("redrtc.log.1 should hold the lines before the rotation, and only those:\n%s", old)
	}
}
