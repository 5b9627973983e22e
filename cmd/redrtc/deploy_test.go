package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/redrtc/redrtc/internal/testkit"
)

// The files in deploy/ are what docs/deploy.md tells operators to copy;
// these tests run them, so that they stay right.

// TestSystemdUnitVerifies: systemd itself accepts deploy/redrtc.service.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze := testkit.RequireTool(t, "apt-get install systemd", "systemd-analyze")
	t.Parallel()
	path := unitForThisBuild(t)
	// On a host running systemd, verify may also warn about other units
	// (those network-online.target pulls in): only those naming this one count.
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), filepath.Base(path)) {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// unitForThisBuild writes deploy/redrtc.service with ExecStart pointing at
// this build (verify checks that the program exists) and returns its path.
func unitForThisBuild(t *testing.T) string {
	t.Helper()
	unit, err := os.ReadFile("../../deploy/redrtc.service")
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.Replace(string(unit), "ExecStart=/usr/local/bin/redrtc\n", "ExecStart="+binary+"\n", 1)
	if fixed == string(unit) {
		t.Fatal("deploy/redrtc.service has no ExecStart=/usr/local/bin/redrtc")
	}
	path := filepath.Join(t.TempDir(), "redrtc.service")
	if err := os.WriteFile(path, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestNginxConfigProxiesWebSocketsAndHealthz runs deploy/nginx.conf, with
// only its addresses and certificate changed, in front of the binary:
// clients connect over wss://, join and relay through it, the Origin
// reaches the server's check, and health checks get through from this
// host, and from no public address.
func TestNginxConfigProxiesWebSocketsAndHealthz(t *testing.T) {
	nginx := testkit.RequireTool(t, "apt-get install nginx-light", "nginx", "/usr/sbin/nginx")
	t.Parallel()
	_, upstream := serve(t, "-i", "127.0.0.1", "--allowed-origins", "https://app.example.com")
	dir := t.TempDir()
	roots := selfSignedCert(t, dir)
	proxy := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	startNginx(t, nginx, dir, upstream, proxy)

	hc := &http.Client{Timeout: waitTimeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
		resp, err := hc.Get("https://" + proxy + "/healthz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var h health
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != 200 || h.Clients == nil {
			return fmt.Errorf("GET /healthz through nginx: status %d, body %+v (%v)", resp.StatusCode, h, err)
		}
		return nil
	})
	if resp, err := hc.Head("https://" + proxy + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("HEAD /healthz through nginx: %v %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}

	// From 127.0.0.2, which stands for the internet here: nginx allows
	// 127.0.0.1 and private networks, and no other loopback address.
	outsider := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	outside := &http.Client{Timeout: waitTimeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext:     outsider.DialContext,
	}}
	if resp, err := outside.Get("https://" + proxy + "/healthz"); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET /healthz through nginx from 127.0.0.2: %v %v, want 403", resp, err)
	} else {
		resp.Body.Close()
	}
	if c, _, err := testkit.DialWith(t, "wss://"+proxy+"/", &websocket.DialOptions{HTTPClient: outside}); err != nil {
		t.Errorf("wss dial through nginx from 127.0.0.2: %v", err)
	} else {
		c.ReadClientID()
	}

	dialVia := func(origin string) (*testkit.Client, *http.Response, error) {
		return testkit.DialWith(t, "wss://"+proxy+"/", &websocket.DialOptions{
			HTTPClient: hc,
			HTTPHeader: http.Header{"Origin": {origin}},
		})
	}
	if _, resp, err := dialVia("https://evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a disallowed Origin through nginx: %v %v, want 403 from the server", resp, err)
	}
	var conns [2]*testkit.Client
	for i := range conns {
		c, resp, err := dialVia("https://app.example.com")
		if err != nil {
			t.Fatalf("wss dial through nginx: %v", err)
		}
		if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "webrtc-signaling" {
			t.Errorf("subprotocol %q through nginx, want webrtc-signaling", got)
		}
		c.ID = c.ReadClientID()
		c.SendRaw(`{"event":"join-room","data":{"roomId":"behind-nginx"}}`)
		c.Await("room-joined")
		conns[i] = c
	}
	offer := `{"type":"offer","sdp":"v=0\r\n"}`
	conns[0].SendRaw(`{"event":"offer","data":{"targetClientId":"` + conns[1].ID + `","offer":` + offer + `}}`)
	// seq 3: conns[1]'s room-joined and participants were 1 and 2.
	want := `{"event":"offer","data":{"fromClientId":"` + conns[0].ID + `","offer":` + offer + `},"seq":3}`
	if got := string(conns[1].Await("offer").Raw); got != want {
		t.Errorf("relayed through nginx:\n got %s\nwant %s", got, want)
	}
}

// startNginx runs deploy/nginx.conf in the foreground, listening on proxy,
// forwarding to upstream, with the certificate in dir, until the test ends.
func startNginx(t *testing.T, nginx, dir, upstream, proxy string) {
	t.Helper()
	site, err := os.ReadFile("../../deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	conf := string(site)
	for _, r := range [][2]string{
		{"listen 443 ssl;", "listen " + proxy + " ssl;"},
		{"listen [::]:443 ssl;", ""},
		{"server 127.0.0.1:8080;", "server " + upstream + ";"},
		{"/etc/letsencrypt/live/signal.example.com/fullchain.pem", filepath.Join(dir, "cert.pem")},
		{"/etc/letsencrypt/live/signal.example.com/privkey.pem", filepath.Join(dir, "key.pem")},
	} {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("deploy/nginx.conf no longer has %q", r[0])
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	if err := os.WriteFile(filepath.Join(dir, "redrtc.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers would run as nobody, shut out of dir
	}
	main := fmt.Sprintf(`%s
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events {}
http {
    access_log off;
    client_body_temp_path %[2]s/tmp;
    proxy_temp_path %[2]s/tmp;
    fastcgi_temp_path %[2]s/tmp;
    uwsgi_temp_path %[2]s/tmp;
    scgi_temp_path %[2]s/tmp;
    include %[2]s/redrtc.conf;
}
`, user, dir)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	// A file, not a pipe: nginx's workers would hold a pipe open after
	// their master is gone.
	out, err := os.Create(filepath.Join(dir, "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		// SIGTERM is nginx's fast shutdown: the master stops its workers.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(waitTimeout):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			output, _ := os.ReadFile(out.Name())
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", output, log)
		}
	})
	testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(exited, func() error {
		c, err := net.Dial("tcp", proxy)
		if err == nil {
			c.Close()
		}
		return err
	}))
}

// selfSignedCert writes cert.pem and key.pem for 127.0.0.1 into dir and
// returns a pool that trusts the certificate.
func selfSignedCert(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"cert.pem": {Type: "CERTIFICATE", Bytes: der},
		"key.pem":  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return roots
}
