package loop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redrtc/redrtc/internal/testkit"
)

// TestBrowserPeersConnectThroughRedRTC opens testdata/browser.html in a real
// headless Chromium: two RTCPeerConnections, each with its own WebSocket to
// this server (offering the webrtc-signaling subprotocol), join one room and
// exchange offer, answer and ICE candidates through RedRTC until a
// DataChannel opens between them and carries a message. The page sets its
// title to PASS when the message arrives. Skipped when no Chromium is
// installed (apt-get install chromium); .ci/run installs it.
func TestBrowserPeersConnectThroughRedRTC(t *testing.T) {
	browser := testkit.RequireTool(t, "apt-get install chromium", "chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
	srv := startServer(t, Config{})
	page, err := filepath.Abs("testdata/browser.html")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(srv.Addr().String(), ":")

	// The profile directory is removed only after every Chromium process
	// (renderer, zygote, utility) has exited: t.TempDir's own cleanup could
	// run while a child still writes into it, and fail the test.
	profile, err := os.MkdirTemp("", "redrtc-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-crash-reporter", "--disable-breakpad",
		"--disable-features=WebRtcHideLocalIpsWithMdns",
		"--user-data-dir="+profile, "--remote-debugging-port=0",
		"file://"+page+"#"+port)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", browser, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		stopProcessGroup(t, cmd.Process.Pid)
		if err := os.RemoveAll(profile); err != nil {
			// A leftover profile in the temp dir is not what this test is
			// about; say so and let the result stand.
			t.Logf("remove chromium profile: %v", err)
		}
	})

	devtools := make(chan string, 1)
	go func() { // Chromium says where its DevTools endpoint listens
		re := regexp.MustCompile(`DevTools listening on ws://([^/]+)/`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				devtools <- m[1]
			}
		}
	}()
	var hostport string
	select {
	case hostport = <-devtools:
	case <-ctx.Done():
		t.Fatal("chromium did not start its DevTools endpoint")
	}

	testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
		if title := pageTitle(hostport); title != "PASS" {
			return fmt.Errorf("page title %q, want PASS: the peers have not exchanged a message over their DataChannel", title)
		}
		return nil
	})
	if srv.Clients() != 2 || srv.Rooms() != 1 {
		t.Fatalf("server holds %d clients in %d rooms, want 2 in 1", srv.Clients(), srv.Rooms())
	}
}

// stopProcessGroup kills what is left of the process group pgid and waits,
// a bounded time, until none of its members is alive. A member that
// outlives the wait (a zombie nobody reaps, in some containers) is logged.
func stopProcessGroup(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-pgid, syscall.SIGKILL) == nil {
		if time.Now().After(deadline) {
			t.Logf("chromium process group %d still listed after 5 s", pgid)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pageTitle asks Chromium's DevTools endpoint for the page's title.
func pageTitle(hostport string) string {
	resp, err := http.Get("http://" + hostport + "/json")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var targets []struct{ Type, Title string }
	if json.NewDecoder(resp.Body).Decode(&targets) != nil {
		return ""
	}
	for _, tg := range targets {
		if tg.Type == "page" {
			return tg.Title
		}
	}
	return ""
}
