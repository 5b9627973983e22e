package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/redrtc/redrtc/internal/debugserve"
	"github.com/redrtc/redrtc/internal/testkit"
)

// debugAddrOf returns the address the server logged for its debug listener.
func debugAddrOf(t *testing.T, p *proc) string {
	t.Helper()
	const msg = "serving Go's profiler at /debug/pprof/; keep this address private"
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, logged(p, msg)))
	var line struct {
		Addr string `json:"addr"`
	}
	if err := json.Unmarshal([]byte(findLog(p.stderr.String(), msg)), &line); err != nil || line.Addr == "" {
		t.Fatalf("debug listener logged as %q: %v", findLog(p.stderr.String(), msg), err)
	}
	return line.Addr
}

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, body
}

func TestDebugAddrServesGosProfilerOnAListenerOfItsOwn(t *testing.T) {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	tests := []struct {
		name string
		env  []string
		// rate is what the legacy text form of a heap profile names: twice
		// runtime.MemProfileRate.
		rate string
	}{
		{"at Go's allocation sampling", env, "@ heap/1048576\n"},
		{"with docs/deploy.md's GODEBUG for fine heap profiles", append(env, debugserve.FineHeapProfiles), "@ heap/8192\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			port := freePort(t)
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			p := startBinaryEnv(t, tc.env, "-p", strconv.Itoa(port), "-i", "127.0.0.1", "--debug-addr", "127.0.0.1:0")
			testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, healthIs(addr, 0, 0)))
			debug := debugAddrOf(t, p)
			if host, port, _ := net.SplitHostPort(debug); host != "127.0.0.1" || port == "0" {
				t.Errorf("debug listener on %s, want 127.0.0.1 and the port chosen for 0", debug)
			}
			testkit.Dial(t, wsURL(addr))

			code, body := get(t, "http://"+debug+"/debug/pprof/heap?debug=1")
			if code != http.StatusOK || !bytes.HasPrefix(body, []byte("heap profile: ")) || !bytes.Contains(body, []byte(tc.rate)) {
				t.Errorf("heap profile: %d %.200q, want 200 and a heap profile sampled %q", code, body, tc.rate)
			}
			code, body = get(t, "http://"+debug+"/debug/pprof/profile?seconds=1")
			if code != http.StatusOK {
				t.Fatalf("CPU profile: %d %.200q, want 200", code, body)
			}
			if _, err := gzip.NewReader(bytes.NewReader(body)); err != nil {
				t.Errorf("CPU profile is not gzipped protobuf: %v", err)
			}
			// The clients' port does not serve it.
			if code, body := get(t, "http://"+addr+"/debug/pprof/"); code == http.StatusOK {
				t.Errorf("the WebSocket port answered /debug/pprof/ with 200: %.200q", body)
			}
		})
	}
}

func TestWithoutDebugAddrNothingServesTheProfiler(t *testing.T) {
	t.Parallel()
	p, addr := serve(t, "-i", "127.0.0.1")
	if strings.Contains(p.stderr.String(), "profiler") {
		t.Errorf("a debug listener was logged without --debug-addr:\n%s", p.stderr.String())
	}
	if code, body := get(t, "http://"+addr+"/debug/pprof/"); code == http.StatusOK {
		t.Errorf("GET /debug/pprof/ answered 200: %.200q", body)
	}
}

func TestABusyDebugAddrExits1WithTheReason(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		// prefix is how stderr starts, after the "starting" line: the
		// server's JSON log, or the --daemon parent's one line.
		prefix string
	}{
		{"in the foreground", nil, `{"level":"error","error":"debug listener: listen tcp `},
		{"--daemon", []string{"--daemon"}, "redrtc: daemon: debug listener: listen tcp "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			debug := net.JoinHostPort("127.0.0.1", strconv.Itoa(busyPort(t)))
			args := append([]string{"-p", strconv.Itoa(freePort(t)), "-i", "127.0.0.1", "--debug-addr", debug}, tc.flags...)
			p := startBinary(t, args...)
			if code := p.wait(); code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			stderr := afterStarting(p.stderr.String())
			if !strings.HasPrefix(stderr, tc.prefix+debug+": bind: address already in use") {
				t.Errorf("stderr %q, want it to start %q", stderr, tc.prefix+debug+": bind: address already in use")
			}
		})
	}
}
