package target

// The nats-server a cluster bench's nodes share: found, started fresh on
// loopback ports with JetStream on, asked for its /healthz, and stopped.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// NATSBinary is where make nats-server installs nats-server, relative to
// the repository's root.
const NATSBinary = "build/bin/nats-server"

// FindNATS returns the nats-server to run: given, when set; otherwise
// root's build/bin/nats-server, then nats-server on the PATH.
func FindNATS(root, given string) (string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("-nats-server %s: %w", given, err)
		}
		return filepath.Abs(given)
	}
	if root != "" {
		p := filepath.Join(root, NATSBinary)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no nats-server: neither %s nor nats-server on the PATH; run make nats-server (go install github.com/nats-io/nats-server/v2@v2.15.3 into build/bin), or give -nats-server PATH", NATSBinary)
}

// NATS is a running nats-server.
type NATS struct {
	*Process // Host is its monitoring address, for /healthz
	// ClientURL is where clients (the RedRTC nodes) connect: nats://127.0.0.1:PORT
	ClientURL string
	storeDir  string
}

// StartNATS starts bin on two free loopback ports, clients and monitoring,
// with JetStream on and its store in a fresh directory under logDir, and
// waits until its /healthz says JetStream is ready.
func StartNATS(ctx context.Context, bin, logDir string) (*NATS, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		mport, err := freePort()
		if err != nil {
			return nil, err
		}
		store, err := os.MkdirTemp(logDir, "nats-js-")
		if err != nil {
			return nil, err
		}
		args := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port), "-m", strconv.Itoa(mport),
			"-js", "-sd", store, "-n", "redrtc-bench"}
		p, err := spawn("nats-server", bin, args, nil, logDir)
		if err != nil {
			os.RemoveAll(store)
			return nil, err
		}
		p.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(mport))
		n := &NATS{Process: p, ClientURL: "nats://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), storeDir: store}
		if err := p.waitHealthy(ctx, 15*time.Second); err != nil {
			n.Stop()
			lastErr = fmt.Errorf("nats-server did not come up: %v\n%s", err, p.LogTail())
			continue
		}
		return n, nil
	}
	return nil, lastErr
}

// Stop ends the server and removes its JetStream store.
func (n *NATS) Stop() {
	n.Process.Stop()
	os.RemoveAll(n.storeDir)
}
