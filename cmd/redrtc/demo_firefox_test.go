package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/redrtc/redrtc/internal/testkit"
)

// firefoxPrefs give a headless Firefox a fake camera and microphone without
// asking, and host candidates as addresses rather than mDNS names.
const firefoxPrefs = `user_pref("media.navigator.streams.fake", true);
user_pref("media.navigator.permission.disabled", true);
user_pref("media.autoplay.default", 0);
user_pref("media.peerconnection.ice.obfuscate_host_addresses", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
`

// TestCallPageChromiumWithFirefox: the call page in headless Firefox and in
// headless Chromium, in one room, reach each other: Chromium sees the
// connection up and decodes Firefox's video, which Firefox could only send
// after it had negotiated with perfect negotiation, ICE and DTLS through
// the SDK. (Firefox is not driven: chromedp speaks Chromium's DevTools
// protocol only, so what Firefox receives is not checked here.)
func TestCallPageChromiumWithFirefox(t *testing.T) {
	firefox := testkit.RequireTool(t, "apt-get install firefox-esr", "firefox-esr", "firefox")
	browser := newBrowser(t)
	addr := startDemo(t)
	page := "http://" + addr + "/#cross-browser"
	chromium := openTab(t, browser, page, true)

	profile := t.TempDir()
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(firefoxPrefs), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*browserWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, firefox, "--headless", "--no-remote", "--profile", profile, page)
	cmd.Env = append(os.Environ(), "MOZ_HEADLESS=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out testkit.LockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", firefox, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		stopGroup(cmd.Process.Pid)
		if t.Failed() {
			t.Logf("firefox's output:\n%s", out.String())
		}
	})

	testkit.CheckFor(t, 2*browserWait, 250*time.Millisecond, func() error {
		v, err := view(chromium)
		if err != nil {
			return err
		}
		if len(v.Peers) != 1 {
			return fmt.Errorf("chromium has %d peers, want Firefox: %+v", len(v.Peers), v.Peers)
		}
		return inCallWith(chromium, v.Peers[0].ID)()
	})
}

// stopGroup kills what is left of the process group pgid, waiting a
// bounded time.
func stopGroup(pgid int) {
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-pgid, syscall.SIGKILL) == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}
