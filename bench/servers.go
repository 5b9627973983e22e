package main

// The servers under test: built from this repository, started fresh for every
// measurement on 127.0.0.1 with a free port, measured through /proc, and
// stopped.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serverKind is one server implementation.
type serverKind struct {
	Name    string   `json:"name"`
	Binary  string   `json:"binary,omitempty"`
	Extra   []string `json:"extraArgs,omitempty"`
	Version string   `json:"version,omitempty"`
	Smoke   string   `json:"smoke"`
	// Profiled: started with --debug-addr, for -profile.
	Profiled bool `json:"profiled,omitempty"`
	// An external server is only measured, never started.
	External bool   `json:"external,omitempty"`
	URL      string `json:"url,omitempty"`
	PID      int    `json:"pid,omitempty"`
}

// serverProc is a running server.
type serverProc struct {
	kind *serverKind
	cmd  *exec.Cmd
	pid  int
	host string // 127.0.0.1:port
	// debugHost is where its Go profiler answers, when kind.Profiled.
	debugHost string
	path      string
	url       string
	logPath   string
	exited    chan struct{}
}

// serverModule is the module of the server under test; the bench is a
// module nested inside its repository.
const serverModule = "github.com/redrtc/redrtc"

// repoRoot finds the repository the bench measures: the nearest directory,
// from the working directory up, whose go.mod declares serverModule, so
// that the bench works whether it is run from the repository's root (make
// bench) or from bench/ (go run .).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(b) == serverModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory (run from the repository)", serverModule)
		}
		dir = parent
	}
}

// modulePath is the path a go.mod's module directive declares.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// buildServer builds the main package in the directory src of the
// repository at root (cmd/redrtc, bench/servers/baseline...), within
// whichever module holds it, with the Makefile's release flags so that all
// servers are built alike, and RedRTC's version stamped as the Makefile
// stamps it, so that the results name the commit they measured.
func buildServer(ctx context.Context, root, src, out string) error {
	ldflags := "-s -w"
	if v := gitDescribe(ctx, root); v != "" {
		ldflags += " -X main.version=" + v + " -X main.commit=" + v
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, ".")
	cmd.Dir = filepath.Join(root, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./%s: %v\n%s", src, err, stderr.String())
	}
	return nil
}

// gitDescribe names the checked-out commit as the Makefile does (with
// -dirty for uncommitted changes), or "" outside a git checkout.
func gitDescribe(ctx context.Context, root string) string {
	cmd := exec.CommandContext(ctx, "git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// helpMentions reports whether bin --help mentions flag.
func helpMentions(bin, flag string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	return bytes.Contains(out, []byte(flag))
}

func versionOf(bin string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// freePort asks the kernel for a port that is free now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startServer starts k for clients and rooms, with env added to the
// bench's environment, and waits until /healthz answers.
func startServer(ctx context.Context, k *serverKind, clients, rooms int, logDir string, env ...string) (*serverProc, error) {
	if k.External {
		u, err := url.Parse(k.URL)
		if err != nil {
			return nil, err
		}
		return &serverProc{kind: k, pid: k.PID, host: u.Host, path: u.RequestURI(), url: k.URL}, nil
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		args := []string{"-i", "127.0.0.1", "-p", strconv.Itoa(port),
			"-c", strconv.Itoa(min(protocolMaxClients, max(1, clients))),
			"-r", strconv.Itoa(min(protocolMaxRooms, max(1, rooms)))}
		var debugHost string
		if k.Profiled {
			dport, err := freePort()
			if err != nil {
				return nil, err
			}
			debugHost = net.JoinHostPort("127.0.0.1", strconv.Itoa(dport))
			args = append(args, "--debug-addr", debugHost)
		}
		args = append(args, k.Extra...)
		logf, err := os.CreateTemp(logDir, strings.ToLower(k.Name)+"-*.log")
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(k.Binary, args...)
		if len(env) > 0 {
			cmd.Env = append(os.Environ(), env...)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return nil, fmt.Errorf("start %s: %w", k.Name, err)
		}
		p := &serverProc{
			kind: k, cmd: cmd, pid: cmd.Process.Pid,
			host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), path: "/",
			logPath: logf.Name(), exited: make(chan struct{}), debugHost: debugHost,
		}
		p.url = "ws://" + p.host + "/"
		go func() {
			_ = cmd.Wait()
			logf.Close()
			close(p.exited)
		}()
		if err := p.waitHealthy(ctx, 10*time.Second); err != nil {
			p.stop()
			lastErr = fmt.Errorf("%s did not come up: %v\n%s", k.Name, err, p.logTail())
			continue
		}
		return p, nil
	}
	return nil, lastErr
}

// waitHealthy polls /healthz.
func (p *serverProc) waitHealthy(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if _, err := p.health(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return err
		}
		if p.exited != nil {
			select {
			case <-p.exited:
				return fmt.Errorf("the process exited")
			default:
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// healthReport is what a server's /healthz says. HeapBytes is nil for a
// server that does not report its Go heap.
type healthReport struct {
	Status    string  `json:"status"`
	Clients   int     `json:"clients"`
	Rooms     int     `json:"rooms"`
	HeapBytes *uint64 `json:"heapBytes"`
}

// health asks the server's /healthz.
func (p *serverProc) health() (healthReport, error) {
	var h healthReport
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + p.host + "/healthz")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &h) != nil || h.Status != "ok" {
		return h, fmt.Errorf("/healthz: %s %s", resp.Status, body)
	}
	return h, nil
}

// alive reports whether the server process is still running.
func (p *serverProc) alive() bool {
	if p.exited == nil {
		return true
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop ends the server: SIGTERM, then SIGKILL after 5 seconds.
func (p *serverProc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *serverProc) logTail() string {
	if p.logPath == "" {
		return ""
	}
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// ---- /proc ----

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat; it is
// 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// procCPU returns utime+stime of pid from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may contain spaces; fields resume after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	return time.Duration(ut+st) * clockTick, nil
}

// machineBusy returns the CPU time all CPUs spent not idle, from /proc/stat:
// user, nice, system, irq, softirq and steal.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected format")
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: unexpected format")
		}
		busy += v
	}
	return time.Duration(busy) * clockTick, nil
}

// procRSS returns VmRSS of pid in KiB from /proc/PID/status.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}
