package loop

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/redrtc/redrtc/auth"
	"github.com/redrtc/redrtc/internal/testkit"
)

// TestBrowsersConnectThroughCoturn is the TURN credentials' end-to-end
// proof: a real coturn (use-auth-secret) on 127.0.0.1, RedRTC handing out
// credentials in room-joined, and two headless Chromium pages, each one
// peer, that allow relay candidates only. With the secret coturn knows,
// they connect through it (the selected candidate pair is relay on both
// ends) and exchange data; with another secret, coturn refuses the
// credentials and they never connect. Skipped without chromium or coturn.
func TestBrowsersConnectThroughCoturn(t *testing.T) {
	browser := testkit.RequireTool(t, "apt-get install chromium", "chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
	turnserver := testkit.RequireTool(t, "apt-get install coturn", "turnserver", "/usr/bin/turnserver")
	const secret = "coturn-e2e-secret"
	turnPort := startCoturn(t, turnserver, secret)

	for _, tc := range []struct {
		name, secret string
		connect      bool
	}{
		{"the secret coturn knows", secret, true},
		{"a wrong secret", "not-the-coturn-secret", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ice, err := auth.NewICE(auth.TURNConfig{Secret: []byte(tc.secret), TTL: time.Hour,
				TURNURIs: []string{"turn:127.0.0.1:" + strconv.Itoa(turnPort) + "?transport=udp"}})
			if err != nil {
				t.Fatal(err)
			}
			srv := startServer(t, Config{ICE: ice})
			_, port, _ := strings.Cut(srv.Addr().String(), ":")
			ctx := startChromedp(t, browser)
			pages := make([]context.Context, 2)
			for i, name := range []string{"alice", "bob"} {
				page, cancel := chromedp.NewContext(ctx)
				t.Cleanup(cancel)
				pages[i] = page
				url := "file://" + pageFile(t, "turn.html") + "#port=" + port + "&room=turn&name=" + name
				if err := chromedp.Do(page, chromedp.Navigate(url)); err != nil {
					t.Fatalf("open the %s page: %v", name, err)
				}
				// The second page joins once the first is in the room, so
				// that the second is the one that calls.
				testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
					st, err := readPeer(page)
					if err == nil && !st.Joined {
						err = fmt.Errorf("%s has not joined (errors %v)", name, st.Errors)
					}
					return err
				})
			}
			if tc.connect {
				for i, page := range pages {
					testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error { return connectedViaRelay(page, i) })
				}
				return
			}
			// Both ends finish gathering without a relay candidate: coturn
			// refused the credential, and with relay only there is nothing
			// to connect over.
			for i, page := range pages {
				testkit.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
					st, err := readPeer(page)
					switch {
					case err != nil:
						return err
					case st.IceServers == nil:
						return fmt.Errorf("page %d got no iceServers", i)
					case st.Gathering != "complete":
						return fmt.Errorf("page %d still gathering candidates (%s)", i, st.Gathering)
					}
					return nil
				})
			}
			for i, page := range pages {
				st, err := readPeer(page)
				if err != nil {
					t.Fatal(err)
				}
				if st.RelayCandidates != 0 || st.Connection == "connected" || len(st.Received) != 0 {
					t.Fatalf("page %d connected with a wrong TURN secret: %+v", i, st)
				}
				if !slices.ContainsFunc(st.CandidateErrors, func(e string) bool { return strings.HasPrefix(e, "401 ") }) {
					t.Fatalf("page %d: no 401 from coturn among its candidate errors %v", i, st.CandidateErrors)
				}
			}
		})
	}
}

// peerState is the page's window.state.
type peerState struct {
	Name            string
	Joined          bool
	IceServers      []json.RawMessage
	Received        []string
	RelayCandidates int
	Gathering       string
	Connection      string
	CandidateErrors []string
	Pair            *struct{ Local, Remote string }
	Errors          []string
}

func readPeer(page context.Context) (peerState, error) {
	var st peerState
	raw, err := chromedp.Run(page, chromedp.Evaluate[string](`JSON.stringify(window.state || null)`))
	if err != nil {
		return st, fmt.Errorf("read the page's state: %w", err)
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return st, fmt.Errorf("page state %q: %w", raw, err)
	}
	return st, nil
}

// connectedViaRelay checks that the page got its peer's hello over a data
// channel whose selected candidate pair is relay at both ends.
func connectedViaRelay(page context.Context, i int) error {
	st, err := readPeer(page)
	switch {
	case err != nil:
		return err
	case len(st.Errors) > 0:
		return fmt.Errorf("page %d: %v", i, st.Errors)
	case len(st.Received) == 0:
		return fmt.Errorf("page %d has received nothing yet (connection %s, %d relay candidates, candidate errors %v)",
			i, st.Connection, st.RelayCandidates, st.CandidateErrors)
	case !strings.HasPrefix(st.Received[0], "hello from "):
		return fmt.Errorf("page %d received %q", i, st.Received)
	case st.Pair == nil:
		return fmt.Errorf("page %d has no selected candidate pair yet", i)
	case st.Pair.Local != "relay" || st.Pair.Remote != "relay":
		return fmt.Errorf("page %d selected a %s/%s pair, want relay/relay", i, st.Pair.Local, st.Pair.Remote)
	}
	return nil
}

func pageFile(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startChromedp starts a headless Chromium driven over DevTools; it ends
// with the test.
func startChromedp(t *testing.T, browser string) context.Context {
	t.Helper()
	profile := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc() // waits for Chromium to exit, before TempDir's cleanup
		cancel()
	})
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start %s: %v", browser, err)
	}
	return browserCtx
}

// startCoturn runs coturn on 127.0.0.1 with the REST API's shared secret
// (use-auth-secret), relaying on 127.0.0.1 to loopback peers, and returns
// its UDP port once it answers a STUN binding request.
func startCoturn(t *testing.T, turnserver, secret string) int {
	t.Helper()
	port := freeUDPPort(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, turnserver,
		"-n", // no configuration file
		"--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--listening-port="+strconv.Itoa(port),
		"--min-port=49152", "--max-port=65535",
		"--use-auth-secret", "--static-auth-secret="+secret, "--realm=redrtc.test",
		"--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--no-tcp", "--no-tcp-relay", "--fingerprint",
		"--db="+filepath.Join(dir, "turndb"), "--pidfile="+filepath.Join(dir, "turnserver.pid"),
		"--log-file=stdout", "--simple-log", "--no-software-attribute")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", turnserver, err)
	}
	logged := testkit.LockedBuffer{}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			logged.Write([]byte(sc.Text() + "\n"))
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("coturn's log:\n%s", logged.String())
		}
	})
	testkit.CheckFor(t, waitTimeout, 20*time.Millisecond, func() error { return stunBinding(port) })
	return port
}

// stunBinding sends a STUN binding request (RFC 8489, 6) to 127.0.0.1:port
// and waits briefly for a success response.
func stunBinding(port int) error {
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	defer c.Close()
	req := make([]byte, 20)
	binary.BigEndian.PutUint16(req[0:], 0x0001) // Binding request
	binary.BigEndian.PutUint32(req[4:], 0x2112A442)
	_, _ = rand.Read(req[8:])
	if _, err := c.Write(req); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	resp := make([]byte, 512)
	n, err := c.Read(resp)
	if err != nil {
		return fmt.Errorf("no STUN answer from coturn: %w", err)
	}
	if n < 20 || binary.BigEndian.Uint16(resp) != 0x0101 || string(resp[8:20]) != string(req[8:20]) {
		return fmt.Errorf("unexpected STUN answer % x", resp[:n])
	}
	return nil
}

// freeUDPPort returns a UDP port that was free on 127.0.0.1 a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
