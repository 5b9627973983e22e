package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/redrtc/redrtc/internal/testkit"
)

// browserWait bounds the waits on WebRTC in a browser: ICE, DTLS and the
// first decoded frames take a few seconds with several tabs on two cores.
const browserWait = 90 * time.Second

// startDemo runs the binary with --demo on a free loopback port and returns
// its address, host:port.
func startDemo(t *testing.T) string {
	t.Helper()
	port := freePort(t)
	p := startBinary(t, "--demo", "-i", "127.0.0.1", "-p", strconv.Itoa(port))
	addr := "127.0.0.1:" + strconv.Itoa(port)
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, func() error {
		_, err := getHealth(addr)
		return err
	}))
	return addr
}

// newBrowser starts headless Chromium with a fake camera and microphone
// (a test pattern and a tone) that pages get without asking, and returns
// the context of its first tab. Chromium exits, and its profile is removed,
// when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	browser := testkit.RequireTool(t, "apt-get install chromium", "chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-quic", true),
		// Host candidates as addresses, not mDNS names that need a resolver.
		chromedp.Flag("disable-features", "site-per-process,Translate,BlinkGenPropertyTrees,WebRtcHideLocalIpsWithMdns"),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for Chromium to exit and removes its profile
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", browser, err)
	}
	return ctx
}

// openTab opens url in a new tab of browser (or in its first tab, when
// first is set) and collects what the page logs to its console.
func openTab(t *testing.T, browser context.Context, url string, first bool) context.Context {
	t.Helper()
	tab := browser
	if !first {
		var cancel context.CancelFunc
		tab, cancel = chromedp.NewContext(browser)
		t.Cleanup(cancel)
	}
	// Logged from chromedp's reading goroutine, which must not block: t.Logf
	// does not.
	err := chromedp.Listen(tab, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			what := d.Text
			if d.Exception != nil {
				what += " " + d.Exception.Description
			}
			t.Logf("%s: uncaught: %s", url, what)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				t.Logf("%s: console.%s %s", url, e.Type, strings.Join(args, " "))
			}
		}
	})
	if err != nil {
		t.Fatalf("listen to the tab of %s: %v", url, err)
	}
	ctx, cancel := context.WithTimeout(tab, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return tab
}

// eval runs a JavaScript expression in tab, awaiting it when it is a
// promise, and returns its value, decoded from JSON.
func eval[T any](tab context.Context, expr string) (T, error) {
	return evalFor[T](tab, expr, 10*time.Second)
}

// evalFor is eval, waiting up to d.
func evalFor[T any](tab context.Context, expr string, d time.Duration) (T, error) {
	ctx, cancel := context.WithTimeout(tab, d)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// callView is what a call page shows and holds: its client id, its peers'
// connection states and video frames decoded from each, its tiles, and
// its message.
type callView struct {
	Me    string `json:"me"`
	Peers []struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Badge  string `json:"badge"`
		Frames int    `json:"frames"`
	} `json:"peers"`
	Tiles   []string `json:"tiles"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

const viewJS = `(async () => {
  const call = globalThis.redrtc?.call;
  const peers = [];
  for (const [id, p] of call ? call.peers : []) {
    let frames = 0;
    (await p.pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded || 0;
    });
    const badge = document.querySelector('[data-peer="' + id + '"] .state')?.textContent ?? '';
    peers.push({ id, state: p.pc.connectionState, badge, frames });
  }
  const m = document.getElementById('message');
  return {
    me: globalThis.redrtc?.client.clientId ?? '',
    peers,
    tiles: [...document.querySelectorAll('.tile')].map((t) => t.dataset.peer),
    message: m.hidden ? '' : m.textContent,
    code: m.hidden ? '' : m.dataset.code,
  };
})()`

func view(tab context.Context) (callView, error) { return eval[callView](tab, viewJS) }

// inCallWith checks that tab is connected to every one of others, shows
// it as connected, and has decoded video from each.
func inCallWith(tab context.Context, others ...string) func() error {
	return func() error {
		v, err := view(tab)
		if err != nil {
			return err
		}
		if len(v.Peers) != len(others) {
			return fmt.Errorf("tab %.8s has %d peers, want %d: %+v", v.Me, len(v.Peers), len(others), v.Peers)
		}
		for _, want := range others {
			found := false
			for _, p := range v.Peers {
				if p.ID != want {
					continue
				}
				found = true
				if p.State != "connected" || p.Badge != "connected" || p.Frames == 0 {
					return fmt.Errorf("tab %.8s, peer %.8s: state %s, shown as %q, %d video frames decoded; want connected, connected, > 0", v.Me, p.ID, p.State, p.Badge, p.Frames)
				}
			}
			if !found {
				return fmt.Errorf("tab %.8s has no peer %.8s: %+v", v.Me, want, v.Peers)
			}
		}
		if len(v.Tiles) != len(others)+1 {
			return fmt.Errorf("tab %.8s shows tiles %v, want itself and %d peers", v.Me, v.Tiles, len(others))
		}
		return nil
	}
}

// TestCallPageInChromium is the call page (examples/call, served by the
// binary with --demo) in three tabs of headless Chromium with a fake camera
// and microphone: every tab connects to both others and decodes video from
// each; one leaves and the others drop its tile; a 7th member of a room of
// 6 is told the room is full, and a page whose server is unreachable says
// so. It saves a screenshot of a tab in the call
// ($REDRTC_SCREENSHOT, or the test's temporary directory), the source of
// docs/img/call.png.
func TestCallPageInChromium(t *testing.T) {
	browser := newBrowser(t)
	addr := startDemo(t)
	page := "http://" + addr + "/#e2e"

	tabs := []context.Context{openTab(t, browser, page, true), openTab(t, browser, page, false), openTab(t, browser, page, false)}
	ids := make([]string, len(tabs))
	for i, tab := range tabs {
		testkit.CheckFor(t, browserWait, 100*time.Millisecond, func() error {
			v, err := view(tab)
			if err == nil && (v.Me == "" || len(v.Tiles) == 0) {
				err = fmt.Errorf("tab %d: no client id or no local tile yet: %+v", i, v)
			}
			ids[i] = v.Me
			return err
		})
	}
	for i, tab := range tabs {
		var others []string
		for j, id := range ids {
			if j != i {
				others = append(others, id)
			}
		}
		testkit.CheckFor(t, browserWait, 250*time.Millisecond, inCallWith(tab, others...))
	}
	screenshot(t, tabs[0])
	fitsAPhone(t, tabs[1])

	// The third tab leaves: the first two drop its tile and stay connected.
	ctx, cancel := context.WithTimeout(tabs[2], 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#leave"))); err != nil {
		t.Fatalf("click Leave: %v", err)
	}
	testkit.CheckFor(t, browserWait, 100*time.Millisecond, inCallWith(tabs[0], ids[1]))
	testkit.CheckFor(t, browserWait, 100*time.Millisecond, inCallWith(tabs[1], ids[0]))
	testkit.CheckFor(t, waitTimeout, 100*time.Millisecond, func() error {
		v, err := view(tabs[2])
		if err == nil && (len(v.Tiles) != 0 || v.Code != "left") {
			err = fmt.Errorf("the tab that left shows tiles %v and message %q", v.Tiles, v.Message)
		}
		return err
	})

	// A room of 6 (signaling clients here, to spare two CPU cores six more
	// tabs of video) refuses the 7th, a tab, which says so.
	for range 6 {
		testkit.Dial(t, "ws://"+addr+"/").Join("e2e-full")
	}
	full := openTab(t, browser, "http://"+addr+"/#e2e-full", false)
	testkit.CheckFor(t, waitTimeout, 100*time.Millisecond, func() error {
		v, err := view(full)
		if err == nil && (v.Code != "room-full" || !strings.Contains(v.Message, "full") || len(v.Tiles) != 0) {
			err = fmt.Errorf("the 7th tab shows message %q (%s) and tiles %v, want the room-full message and no tiles", v.Message, v.Code, v.Tiles)
		}
		return err
	})

	// A page whose server cannot be reached says so.
	nowhere := fmt.Sprintf("ws://127.0.0.1:%d/", freePort(t))
	lost := openTab(t, browser, "http://"+addr+"/?server="+nowhere+"#e2e-nowhere", false)
	testkit.CheckFor(t, waitTimeout, 100*time.Millisecond, func() error {
		v, err := view(lost)
		if err == nil && (v.Code != "unreachable" || !strings.Contains(v.Message, nowhere)) {
			err = fmt.Errorf("a page with no server shows message %q (%s), want the unreachable message naming %s", v.Message, v.Code, nowhere)
		}
		return err
	})
}

// screenshot saves what tab shows as a PNG.
func screenshot(t *testing.T, tab context.Context) {
	t.Helper()
	path := os.Getenv("REDRTC_SCREENSHOT")
	if path == "" {
		path = filepath.Join(t.TempDir(), "call.png")
	}
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the call: %s", path)
}

// fitsAPhone shows tab's call on a phone's screen (390×844 CSS pixels, as
// an iPhone 14's, touch, mobile) and checks that nothing is wider than the
// screen and that every control is on it and a finger's height (44 px).
func fitsAPhone(t *testing.T, tab context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
	if err != nil {
		t.Fatalf("emulate a phone: %v", err)
	}
	type layout struct {
		Width    int      `json:"width"`
		Overflow int      `json:"overflow"`
		Tiles    int      `json:"tiles"`
		Bad      []string `json:"bad"`
	}
	testkit.CheckFor(t, waitTimeout, 100*time.Millisecond, func() error {
		l, err := eval[layout](tab, `(() => {
  const bad = [];
  for (const el of document.querySelectorAll('.tile, #controls button')) {
    const r = el.getBoundingClientRect();
    if (r.left < 0 || r.right > innerWidth) bad.push((el.id || el.className) + ' is wider than the screen');
    if (el.tagName === 'BUTTON' && (r.height < 44 || r.bottom > innerHeight)) bad.push(el.id + ' is off screen or under 44 px');
  }
  return { width: innerWidth, overflow: document.documentElement.scrollWidth - innerWidth, tiles: document.querySelectorAll('.tile').length, bad };
})()`)
		switch {
		case err != nil:
			return err
		case l.Width != 390:
			return fmt.Errorf("viewport %d px wide, want 390", l.Width)
		case l.Overflow > 0 || len(l.Bad) > 0 || l.Tiles != 3:
			return fmt.Errorf("on a phone: %d px wider than the screen, %d tiles, %v", l.Overflow, l.Tiles, l.Bad)
		}
		return nil
	})
}
