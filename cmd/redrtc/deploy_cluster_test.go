package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/redrtc/redrtc/internal/testkit"
)

// The files in deploy/cluster/ are what docs/cluster.md tells operators to
// install for a cluster; these tests run them.

// TestClusterUnitsVerify: systemd accepts deploy/cluster/nats-server.service
// and a node, redrtc@1, made of deploy/redrtc.service installed as a
// template with deploy/cluster's drop-in; and rates both sandboxes "OK".
func TestClusterUnitsVerify(t *testing.T) {
	analyze := testkit.RequireTool(t, "apt-get install systemd", "systemd-analyze")
	natsServer := testkit.NATSBinary(t) // verify checks that ExecStart's program exists
	t.Parallel()
	dir := t.TempDir()
	// As docs/cluster.md installs them into /etc/systemd/system, with
	// ExecStart pointing at these builds.
	install := func(from, to, execStart, program string) {
		t.Helper()
		unit, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		fixed := strings.Replace(string(unit), "ExecStart="+execStart, "ExecStart="+program, 1)
		if fixed == string(unit) {
			t.Fatalf("%s has no ExecStart=%s", from, execStart)
		}
		if err := os.WriteFile(filepath.Join(dir, to), []byte(fixed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	install("../../deploy/cluster/nats-server.service", "nats-server.service", "/usr/local/bin/nats-server ", natsServer+" ")
	install("../../deploy/redrtc.service", "redrtc@.service", "/usr/local/bin/redrtc\n", binary+"\n")
	dropIn, err := os.ReadFile("../../deploy/cluster/redrtc@.service.d/cluster.conf")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "redrtc@.service.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "redrtc@.service.d", "cluster.conf"), dropIn, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, unit := range []string{"nats-server.service", "redrtc@1.service"} {
		path := filepath.Join(dir, unit)
		// verify exits 0 after warnings about a setting it ignores (in the
		// drop-in too): any line naming our files is a failure. On a host
		// running systemd, warnings about other units do not count.
		out, err := exec.Command(analyze, "verify", path).CombinedOutput()
		if err != nil || strings.Contains(string(out), dir) || strings.Contains(string(out), unit) {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
		}
		out, err = exec.Command(analyze, "security", "--offline=true", "--no-pager", path).CombinedOutput()
		if err != nil {
			t.Fatalf("systemd-analyze security %s: %v\n%s", unit, err, out)
		}
		m := regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+) (\S+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("no overall exposure level in:\n%s", out)
		}
		if level, _ := strconv.ParseFloat(string(m[1]), 64); level > maxExposure {
			t.Errorf("%s: exposure %s %s, want at most %.1f (OK):\n%s", unit, m[1], m[2], maxExposure, out)
		}
		t.Logf("systemd-analyze security %s: %s %s", unit, m[1], m[2])
	}
}

// TestClusterNATSConfigRunsJetStream runs the real nats-server with
// deploy/cluster/nats-server.conf, only its ports and store directory
// changed: it becomes healthy with JetStream on, monitoring answers on
// loopback, it keeps a key-value bucket as the cluster keeps rooms (in
// memory, a compare-and-set per change), and the unit's stop signal ends it
// with status 0.
func TestClusterNATSConfigRunsJetStream(t *testing.T) {
	natsServer := testkit.NATSBinary(t)
	t.Parallel()
	dir := t.TempDir()
	text, err := os.ReadFile("../../deploy/cluster/nats-server.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(text)
	port, monitorPort := freePort(t), freePort(t)
	monitor := fmt.Sprintf("http://127.0.0.1:%d", monitorPort)
	for _, r := range [][2]string{
		{"listen: 127.0.0.1:4222", fmt.Sprintf("listen: 127.0.0.1:%d", port)},
		{"http: 127.0.0.1:8222", fmt.Sprintf("http: 127.0.0.1:%d", monitorPort)},
		{"store_dir: /var/lib/nats", "store_dir: " + strconv.Quote(filepath.Join(dir, "store"))},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("deploy/cluster/nats-server.conf no longer has %q", r[0])
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	path := filepath.Join(dir, "nats-server.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProgram(t, natsServer, os.Environ(), "-c", path)
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, func() error {
		resp, err := http.Get(monitor + "/healthz?js-enabled-only=true")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /healthz?js-enabled-only=true: status %d", resp.StatusCode)
		}
		return nil
	}))
	var varz struct {
		ServerName string `json:"server_name"`
		JetStream  struct {
			Config struct {
				MaxMemory int64  `json:"max_memory"`
				StoreDir  string `json:"store_dir"`
			} `json:"config"`
		} `json:"jetstream"`
	}
	resp, err := http.Get(monitor + "/varz")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&varz)
	resp.Body.Close()
	if err != nil || varz.ServerName != "redrtc-nats" || varz.JetStream.Config.MaxMemory != 256<<20 ||
		!strings.HasPrefix(varz.JetStream.Config.StoreDir, filepath.Join(dir, "store")) {
		t.Errorf("/varz: %+v (%v); want server redrtc-nats, JetStream with 256 MiB of memory, its store in %s", varz, err, dir)
	}

	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", port), nats.Timeout(waitTimeout))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		t.Fatalf("JetStream account info: %v", err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "redrtc-rooms", History: 1, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatalf("create the rooms bucket: %v", err)
	}
	rev, err := kv.Create(ctx, "room", []byte(`{"members":["a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update(ctx, "room", []byte(`{"members":["a","b"]}`), rev); err != nil {
		t.Fatalf("update at the revision read: %v", err)
	}
	var apiErr *jetstream.APIError
	if _, err := kv.Update(ctx, "room", []byte(`{"members":["a","c"]}`), rev); !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
		t.Errorf("update at a stale revision: %v, want wrong last sequence", err)
	}
	nc.Close()

	p.signal(syscall.SIGINT) // the unit's KillSignal=
	if code := p.wait(); code != 0 {
		t.Errorf("exit %d after SIGINT, want 0", code)
	}
}
