package testkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// NATSInstall is what a person without a nats-server binary is told to do:
// the Makefile builds the version the cluster needs from the module proxy.
const NATSInstall = "run `make nats-server` (it builds build/bin/nats-server with go install), or put nats-server on PATH"

// NATSBinary returns the path of a nats-server to run: build/bin/nats-server
// under the module's root (what `make nats-server` builds), else one on
// PATH. Without either it skips t through RequireTool, so that `make test`
// lists the skip.
func NATSBinary(t testing.TB) string {
	t.Helper()
	return RequireTool(t, NATSInstall, natsCandidates()...)
}

// natsCandidates lists build/bin/nats-server under every directory from the
// working directory up that holds a go.mod (the bench is a module inside the
// repository's), nearest first, then nats-server on PATH.
func natsCandidates() []string {
	var out []string
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				out = append(out, filepath.Join(dir, "build", "bin", "nats-server"))
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return append(out, "nats-server")
}

// NATSServer starts a nats-server as NATS runs for a RedRTC cluster (see
// StartNATS) and returns its nats:// URL; it stops when the test ends.
func NATSServer(t testing.TB) string {
	t.Helper()
	return StartNATS(t).URL
}

// NATSProcess is a nats-server subprocess listening on 127.0.0.1, with
// JetStream on and its store in a directory of the test's. It can be stopped
// and started again on the same ports and store, as a NATS outage and
// recovery look to its clients. Its methods belong to the test's goroutine.
type NATSProcess struct {
	t   testing.TB
	bin string
	// URL is the client URL, nats://127.0.0.1:PORT, the same across
	// restarts; Monitor is the monitoring endpoint, http://127.0.0.1:PORT.
	URL, Monitor string
	// StoreDir is JetStream's store directory (-sd).
	StoreDir string
	dir      string
	output   LockedBuffer // stdout and stderr of every run, in order
	cmd      *exec.Cmd
	exited   chan struct{} // closed once cmd has been waited for
	err      error         // from Wait, set before exited is closed
}

// StartNATS starts a nats-server from NATSBinary on free ports of 127.0.0.1
// (clients and monitoring), JetStream on, and waits until its /healthz says
// it is ready, JetStream included. The server is stopped when the test ends,
// and its output logged if the test failed.
func StartNATS(t testing.TB) *NATSProcess {
	t.Helper()
	bin := NATSBinary(t)
	dir := t.TempDir()
	p := &NATSProcess{t: t, bin: bin, dir: dir, StoreDir: filepath.Join(dir, "store")}
	t.Cleanup(func() {
		if p.Running() {
			p.Stop()
		}
		if t.Failed() {
			t.Logf("nats-server output:\n%s", p.output.String())
		}
	})
	// Port -1 is any free port: the server writes those it took to a ports
	// file, which the next runs reuse.
	p.run("-1", "-1")
	return p
}

// Running reports whether the process is started and has not exited.
func (p *NATSProcess) Running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Start starts the server again, after Stop or Kill, on the same ports and
// store directory, and waits until it is ready.
func (p *NATSProcess) Start() {
	p.t.Helper()
	if p.Running() {
		p.t.Fatal("nats-server: Start while it runs")
	}
	p.run(portOf(p.t, p.URL), portOf(p.t, p.Monitor))
}

// Stop ends the server as deploy/cluster/nats-server.service does (SIGINT:
// it closes its clients' connections and exits 0; nats-server 2.9 exits 1
// on SIGTERM) and waits for it, failing the test if it does not exit by
// itself with status 0.
func (p *NATSProcess) Stop() {
	p.t.Helper()
	p.signal(syscall.SIGINT)
	if st := p.wait(); !st.Exited() || st.ExitCode() != 0 {
		p.t.Errorf("nats-server: %v after SIGINT, want exit status 0", st)
	}
}

// Kill ends the server as a crash does (SIGKILL) and waits for it.
func (p *NATSProcess) Kill() {
	p.t.Helper()
	p.signal(syscall.SIGKILL)
	p.wait()
}

func (p *NATSProcess) signal(sig syscall.Signal) {
	p.t.Helper()
	if !p.Running() {
		p.t.Fatalf("nats-server: %v to a server that is not running", sig)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("nats-server: send %v: %v", sig, err)
	}
}

// wait waits at most Timeout for the process to exit, killing it after that.
func (p *NATSProcess) wait() *os.ProcessState {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(Timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.t.Errorf("nats-server: still running %v after a signal; killed", Timeout)
	}
	return p.cmd.ProcessState
}

// run starts the process on these ports and waits until it is ready.
func (p *NATSProcess) run(port, monitorPort string) {
	p.t.Helper()
	portsDir := filepath.Join(p.dir, "ports")
	if err := os.RemoveAll(portsDir); err != nil {
		p.t.Fatal(err)
	}
	if err := os.Mkdir(portsDir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	args := []string{
		"--server_name", "redrtc-test", // JetStream's store is per server name: the same across restarts
		"-a", "127.0.0.1", "-p", port,
		"--http_port", monitorPort, // on -a's address
		"-js", "-sd", p.StoreDir,
		"--ports_file_dir", portsDir,
	}
	p.cmd = exec.Command(p.bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.output, &p.output
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.bin, err)
	}
	exited := make(chan struct{})
	p.exited = exited
	cmd := p.cmd
	go func() {
		p.err = cmd.Wait()
		close(exited)
	}()
	CheckFor(p.t, Timeout, 10*time.Millisecond, func() error {
		err := p.ready(portsDir)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return GiveUp(fmt.Errorf("nats-server %s exited (%v) before it was ready; last error: %w", strings.Join(args, " "), p.err, err))
		default:
			return err
		}
	})
}

// ready reads the ports the server listens on (once, from its ports file)
// and checks that its /healthz answers 200: it does once JetStream is up.
func (p *NATSProcess) ready(portsDir string) error {
	if p.URL == "" {
		files, err := filepath.Glob(filepath.Join(portsDir, "*.ports"))
		if err != nil || len(files) == 0 {
			return fmt.Errorf("no ports file in %s yet", portsDir)
		}
		b, err := os.ReadFile(files[0])
		if err != nil {
			return err
		}
		var ports struct {
			Nats       []string `json:"nats"`
			Monitoring []string `json:"monitoring"`
		}
		if err := json.Unmarshal(b, &ports); err != nil || len(ports.Nats) == 0 || len(ports.Monitoring) == 0 {
			return fmt.Errorf("ports file %s: %q (%v)", files[0], b, err)
		}
		p.URL, p.Monitor = ports.Nats[0], ports.Monitoring[0]
	}
	c := http.Client{Timeout: Timeout}
	resp, err := c.Get(p.Monitor + "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("GET %s/healthz: status %d, %w", p.Monitor, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || body.Status != "ok" {
		return fmt.Errorf("GET %s/healthz: status %d, %+v", p.Monitor, resp.StatusCode, body)
	}
	return nil
}

// portOf returns the port of a nats:// or http:// URL.
func portOf(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err == nil && u.Port() == "" {
		err = errors.New("no port")
	}
	if err == nil {
		_, err = strconv.Atoi(u.Port())
	}
	if err != nil {
		t.Fatalf("nats-server URL %q: %v", rawURL, err)
	}
	return u.Port()
}
