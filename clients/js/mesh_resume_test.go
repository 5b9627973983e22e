package js

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/redrtc/redrtc/internal/testkit"
)

// browserWait bounds the waits on WebRTC in the browser: ICE, DTLS and the
// first decoded frames take a few seconds on two cores.
const browserWait = 90 * time.Second

// cutProxy forwards TCP connections to a server. cut closes every
// connection through it, without a WebSocket close frame: what the server
// and the browser see when a network goes away. While down, it closes new
// connections at once.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
	down  bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c, target)
		}
	}()
	return p
}

func (p *cutProxy) forward(c net.Conn, target string) {
	s, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(s, c); c.Close(); s.Close() }()
	_, _ = io.Copy(c, s)
	c.Close()
	s.Close()
}

// setDown closes every connection through the proxy when down, and
// refuses new ones until it is set up again.
func (p *cutProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// meshSetupJS starts a call of two MeshCalls in one page, a through the
// proxy, b straight to the server, and resolves once media flows both
// ways. It leaves its state in globalThis.t.
const meshSetupJS = `(async () => {
  const { RedRTCClient, MeshCall } = await import('/sdk/index.js');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (what, pred, ms = 60000) => {
    const end = Date.now() + ms;
    while (!(await pred())) {
      if (Date.now() > end) throw new Error('timed out waiting for ' + what);
      await sleep(50);
    }
  };
  const t = (globalThis.t = { until, sleep, resumed: null, bParticipants: 0, peerLeft: 0, errors: [] });
  const a = (t.a = {}), b = (t.b = {});
  a.client = new RedRTCClient(PROXY_URL, { minReconnectDelay: 50, maxReconnectDelay: 200 });
  b.client = new RedRTCClient('ws://' + location.host + '/');
  for (const p of [a, b]) {
    p.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    p.call = new MeshCall(p.client, { localStream: p.stream });
    p.call.on('peer-left', () => t.peerLeft++);
    p.call.on('error', ({ error }) => t.errors.push(String(error)));
  }
  t.pcOf = (p, q) => p.call.peers.get(q.client.clientId)?.pc;
  t.frames = async (p, q) => {
    let n = 0;
    (await t.pcOf(p, q).getStats()).forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video') n += r.framesDecoded || 0; });
    return n;
  };
  t.decoding = async (p, q) => { const n = await t.frames(p, q); await sleep(300); return (await t.frames(p, q)) > n; };
  t.stable = () => [t.pcOf(a, b), t.pcOf(b, a)].every((pc) => pc && pc.connectionState === 'connected' && pc.signalingState === 'stable');
  const room = 'mesh-resume-' + Math.random().toString(36).slice(2);
  await a.call.join(room);
  await b.call.join(room);
  await until('the first connection', t.stable);
  await until('video both ways', async () => (await t.decoding(a, b)) && (await t.decoding(b, a)));
  t.pcA = t.pcOf(a, b);
  t.pcB = t.pcOf(b, a);
  t.id = a.client.clientId;
  a.client.on('resumed', (d) => (t.resumed = d));
  b.client.on('participants', () => t.bParticipants++);
  return t.id;
})()`

// meshWhileAwayJS runs while a's socket is down: b restarts ICE, so that an
// offer and candidates for a wait in a's session on the server.
const meshWhileAwayJS = `(async () => {
  await t.until('a reconnecting', () => t.a.client.state === 'reconnecting', 20000);
  t.ufrag = (pc) => pc.remoteDescription.sdp.match(/a=ice-ufrag:(\S+)/)[1];
  t.oldUfrag = t.ufrag(t.pcA);
  t.pcB.restartIce();
  await t.until('b offering', () => t.pcB.signalingState === 'have-local-offer', 20000);
  await t.b.client.ping(); // the server has the offer
  return t.a.client.state;
})()`

// meshAfterJS waits for the resume and what follows it, and reports.
const meshAfterJS = `(async () => {
  const { a, b } = t;
  await t.until('resumed', () => t.resumed !== null);
  await t.until('the ICE restart done', () => t.stable() && t.ufrag(t.pcA) !== t.oldUfrag);
  await t.until('video both ways after the resume', async () => (await t.decoding(a, b)) && (await t.decoding(b, a)));
  const out = {
    sameId: a.client.clientId === t.id,
    samePcs: t.pcOf(a, b) === t.pcA && t.pcOf(b, a) === t.pcB,
    resumed: t.resumed,
    bParticipants: t.bParticipants,
    peerLeft: t.peerLeft,
    errors: t.errors,
  };
  a.client.close();
  b.client.close();
  return out;
})()`

// TestMeshCallSurvivesAResumeInChromium cuts one side of a two-party
// MeshCall in headless Chromium (its TCP connection to the server closed
// without a close frame) while the other side restarts ICE: the client
// resumes with its id, both keep their RTCPeerConnections, the offer and
// candidates sent meanwhile arrive and complete the restart, and video
// flows both ways, while the room-mate never sees anyone leave.
func TestMeshCallSurvivesAResumeInChromium(t *testing.T) {
	tab, px := startMeshPage(t)

	id, err := evalJS[string](tab, strings.Replace(meshSetupJS, "PROXY_URL", "'ws://"+px.ln.Addr().String()+"/'", 1))
	if err != nil {
		t.Fatalf("the call: %v", err)
	}
	px.setDown(true)
	state, err := evalJS[string](tab, meshWhileAwayJS)
	if err != nil {
		t.Fatalf("while away: %v", err)
	}
	if state != "reconnecting" {
		t.Fatalf("a is %s while its socket is down, want reconnecting", state)
	}
	px.setDown(false)
	type report struct {
		SameID  bool `json:"sameId"`
		SamePcs bool `json:"samePcs"`
		Resumed struct {
			ClientID string `json:"clientId"`
			Missed   int    `json:"missed"`
			Dropped  int    `json:"dropped"`
		} `json:"resumed"`
		BParticipants int      `json:"bParticipants"`
		PeerLeft      int      `json:"peerLeft"`
		Errors        []string `json:"errors"`
	}
	out, err := evalJS[report](tab, meshAfterJS)
	if err != nil {
		t.Fatalf("after the resume: %v", err)
	}
	t.Logf("%+v", out)
	if !out.SameID || out.Resumed.ClientID != id {
		t.Errorf("resumed as %q (same id %v), want %q", out.Resumed.ClientID, out.SameID, id)
	}
	if !out.SamePcs {
		t.Error("the RTCPeerConnections were replaced; want the same ones kept across the resume")
	}
	if out.Resumed.Missed == 0 || out.Resumed.Dropped != 0 {
		t.Errorf("resumed with %d missed, %d dropped; want the offer and candidates missed, none dropped", out.Resumed.Missed, out.Resumed.Dropped)
	}
	if out.BParticipants != 0 || out.PeerLeft != 0 {
		t.Errorf("%d participants events to the room-mate, %d peer-left; want none", out.BParticipants, out.PeerLeft)
	}
	if len(out.Errors) != 0 {
		t.Errorf("mesh errors: %v", out.Errors)
	}
}

// evalJS runs a JavaScript expression in tab, awaiting it when it is a
// promise, and decodes its value from JSON.
func evalJS[T any](tab context.Context, js string) (T, error) {
	ctx, cancel := context.WithTimeout(tab, browserWait)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// startMeshPage starts the binary with --demo and flags, a cutProxy in
// front of it, and headless Chromium with a fake camera and microphone on
// the demo page.
func startMeshPage(t *testing.T, flags ...string) (context.Context, *cutProxy) {
	t.Helper()
	browserPath := testkit.RequireTool(t, "apt-get install chromium", "chromium", "chromium-browser", "google-chrome")
	bin := filepath.Join(t.TempDir(), "redrtc")
	run(t, "../..", nil, goTool(), "build", "-o", bin, "./cmd/redrtc")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	srv := exec.Command(bin, append([]string{"--demo", "-i", "127.0.0.1", "-p", strconv.Itoa(port)}, flags...)...)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
	})
	testkit.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		res, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("healthz %d", res.StatusCode)
		}
		return nil
	})
	px := newCutProxy(t, addr)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserPath),
		chromedp.NoSandbox,
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("disable-quic", true),
		// Host candidates as addresses, not mDNS names that need a resolver.
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tab, chromedp.Navigate("http://"+addr+"/")); err != nil {
		t.Fatalf("open the demo page: %v", err)
	}
	return tab, px
}

// meshFallbackJS waits for the call to come back after a reconnect that
// could not resume, and reports.
const meshFallbackJS = `(async () => {
  const { a, b } = t;
  await t.until('a new id', () => a.client.state === 'open' && a.client.clientId !== t.id);
  await t.until('the call again', t.stable);
  await t.until('video both ways again', async () => (await t.decoding(a, b)) && (await t.decoding(b, a)));
  const out = {
    newId: a.client.clientId !== t.id,
    newPcs: t.pcOf(a, b) !== t.pcA && t.pcOf(b, a) !== t.pcB,
    oldClosed: t.pcA.signalingState === 'closed' && t.pcB.signalingState === 'closed',
    peers: [a.call.peers.size, b.call.peers.size],
    resumed: t.resumed !== null,
  };
  a.client.close();
  b.client.close();
  return out;
})()`

// TestMeshCallFallsBackWithoutResumeInChromium: against a server with
// --resume-grace 0 a cut client comes back as a new client, and the call
// hangs up and calls everyone anew, with new RTCPeerConnections.
func TestMeshCallFallsBackWithoutResumeInChromium(t *testing.T) {
	tab, px := startMeshPage(t, "--resume-grace", "0")
	if _, err := evalJS[string](tab, strings.Replace(meshSetupJS, "PROXY_URL", "'ws://"+px.ln.Addr().String()+"/'", 1)); err != nil {
		t.Fatalf("the call: %v", err)
	}
	px.setDown(true)
	px.setDown(false)
	type report struct {
		NewID     bool  `json:"newId"`
		NewPcs    bool  `json:"newPcs"`
		OldClosed bool  `json:"oldClosed"`
		Peers     []int `json:"peers"`
		Resumed   bool  `json:"resumed"`
	}
	out, err := evalJS[report](tab, meshFallbackJS)
	if err != nil {
		t.Fatalf("after the reconnect: %v", err)
	}
	t.Logf("%+v", out)
	if !out.NewID || out.Resumed {
		t.Errorf("new id %v, resumed %v; want a new client", out.NewID, out.Resumed)
	}
	if !out.NewPcs || !out.OldClosed {
		t.Errorf("new RTCPeerConnections %v, old ones closed %v; want both", out.NewPcs, out.OldClosed)
	}
	if len(out.Peers) != 2 || out.Peers[0] != 1 || out.Peers[1] != 1 {
		t.Errorf("peers %v, want one on each side", out.Peers)
	}
}
