// Package target is the servers under test: built from this repository,
// started fresh for every measurement on 127.0.0.1 with a free port, asked
// for their /healthz, and stopped.
package target

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

	"github.com/redrtc/redrtc/bench/internal/limits"
)

// Server is one server implementation.
type Server struct {
	Name    string   `json:"name"`
	Binary  string   `json:"binary,omitempty"`
	Extra   []string `json:"extraArgs,omitempty"`
	Version string   `json:"version,omitempty"`
	Smoke   string   `json:"smoke"`
	// Token is the room token its clients send with join-room, for a
	// server started with access tokens on.
	Token string `json:"-"`
	// Profiled: started with --debug-addr, for -profile.
	Profiled bool `json:"profiled,omitempty"`
	// An external server is only measured, never started.
	External bool   `json:"external,omitempty"`
	URL      string `json:"url,omitempty"`
	PID      int    `json:"pid,omitempty"`
}

// Process is a running server.
type Process struct {
	Server *Server
	cmd    *exec.Cmd
	PID    int
	Host   string // 127.0.0.1:port
	// DebugHost is where its Go profiler answers, when kind.Profiled.
	DebugHost string
	Path      string
	URL       string
	logPath   string
	exited    chan struct{}
}

// serverModule is the module of the server under test; the bench is a
// module nested inside its repository.
const serverModule = "github.com/redrtc/redrtc"

// RepoRoot finds the repository the bench measures: the nearest directory,
// from the working directory up, whose go.mod declares serverModule, so
// that the bench works whether it is run from the repository's root (make
// bench) or from bench/ (go run .).
func RepoRoot() (string, error) {
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

// Build builds the main package in the directory src of the
// repository at root (cmd/redrtc, bench/servers/baseline...), within
// whichever module holds it, with the Makefile's release flags so that all
// servers are built alike, and RedRTC's version stamped as the Makefile
// stamps it, so that the results name the commit they measured.
func Build(ctx context.Context, root, src, out string) error {
	ldflags := "-s -w"
	if v := GitDescribe(ctx, root); v != "" {
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

// GitDescribe names the checked-out commit as the Makefile does (with
// -dirty for uncommitted changes), or "" outside a git checkout.
func GitDescribe(ctx context.Context, root string) string {
	cmd := exec.CommandContext(ctx, "git", "describe", "--tags", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// HelpMentions reports whether bin --help mentions flag.
func HelpMentions(bin, flag string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	return bytes.Contains(out, []byte(flag))
}

// VersionOf is what bin --version prints, or "" when it does not answer.
func VersionOf(bin string) string {
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

// Start starts k for clients and rooms, with env added to the
// bench's environment, and waits until /healthz answers.
func Start(ctx context.Context, k *Server, clients, rooms int, logDir string, env ...string) (*Process, error) {
	if k.External {
		u, err := url.Parse(k.URL)
		if err != nil {
			return nil, err
		}
		return &Process{Server: k, PID: k.PID, Host: u.Host, Path: u.RequestURI(), URL: k.URL}, nil
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		args := []string{"-i", "127.0.0.1", "-p", strconv.Itoa(port),
			"-c", strconv.Itoa(min(limits.ProtocolMaxClients, max(1, clients))),
			"-r", strconv.Itoa(min(limits.ProtocolMaxRooms, max(1, rooms)))}
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
		p, err := spawn(k.Name, k.Binary, args, env, logDir)
		if err != nil {
			return nil, err
		}
		p.Server, p.DebugHost, p.Path = k, debugHost, "/"
		p.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		p.URL = "ws://" + p.Host + "/"
		if err := p.waitHealthy(ctx, 10*time.Second); err != nil {
			p.Stop()
			lastErr = fmt.Errorf("%s did not come up: %v\n%s", k.Name, err, p.LogTail())
			continue
		}
		return p, nil
	}
	return nil, lastErr
}

// spawn starts bin with args, and env added to the bench's environment,
// its output going to a log file in logDir named after name; it is killed
// if the bench dies.
func spawn(name, bin string, args, env []string, logDir string) (*Process, error) {
	logf, err := os.CreateTemp(logDir, strings.ToLower(name)+"-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{cmd: cmd, PID: cmd.Process.Pid, logPath: logf.Name(), exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	return p, nil
}

// waitHealthy polls /healthz.
func (p *Process) waitHealthy(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if _, err := p.Health(); err == nil {
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

// HealthReport is what a server's /healthz says. HeapBytes is nil for a
// server that does not report its Go heap.
type HealthReport struct {
	Status    string  `json:"status"`
	Clients   int     `json:"clients"`
	Rooms     int     `json:"rooms"`
	HeapBytes *uint64 `json:"heapBytes"`
}

// Health asks the server's /healthz.
func (p *Process) Health() (HealthReport, error) {
	var h HealthReport
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + p.Host + "/healthz")
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

// Alive reports whether the server process is still running.
func (p *Process) Alive() bool {
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

// Stop ends the server: SIGTERM, then SIGKILL after 5 seconds.
func (p *Process) Stop() {
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

// LogTail is the end of the server's log, for error messages.
func (p *Process) LogTail() string {
	if p.logPath == "" {
		return ""
	}
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// HeapKB is the reported Go heap in KiB, or nil when the server reports none.
func (h HealthReport) HeapKB() *int64 {
	if h.HeapBytes == nil {
		return nil
	}
	kb := int64(*h.HeapBytes / 1024)
	return &kb
}

// CompareName is the display name of the second RedRTC binary that
// -compare measures against the first, for an A/B of two builds.
const CompareName = "RedRTC-B"

// FloorName is the display name of bench/servers/floor, the minimal gnet relay that
// RedRTC can be measured against.
const FloorName = "floor"
