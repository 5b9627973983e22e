package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr, token, err string
	}{
		{"", "", ""},
		{"127.0.0.1:9090", "", ""},
		{"127.0.0.2:0", "", ""},
		{"[::1]:9090", "", ""},
		{"localhost:9090", "", ""},
		{"0.0.0.0:9090", "", "not a loopback address"},
		{":9090", "", "not a loopback address"},
		{"10.0.0.1:9090", "", "not a loopback address"},
		{"0.0.0.0:9090", "secret", ""},
		{"9090", "", "must be HOST:PORT"},
		{"127.0.0.1:http", "", "must be HOST:PORT"},
		{"127.0.0.1:", "", "must be HOST:PORT"},
		{"127.0.0.1:-1", "", "must be HOST:PORT"},
	} {
		err := CheckAddr(tc.addr, tc.token)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("CheckAddr(%q, %q) = %v, want %q", tc.addr, tc.token, err, tc.err)
		}
	}
}

// TestBeforeTheServerListens: the admin listener starts first; until the
// server accepts clients /readyz and the API answer 503, while /healthz and
// /metrics (build info alone) answer.
func TestBeforeTheServerListens(t *testing.T) {
	l, err := Start(Config{Addr: "127.0.0.1:0", Version: "v", Commit: "c", GoVersion: "go"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	base := "http://" + l.Addr().String()
	for path, want := range map[string]int{"/readyz": 503, "/v1/stats": 503, "/v1/rooms": 503, "/healthz": 200, "/metrics": 200} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d %s, want %d", path, resp.StatusCode, body, want)
		}
		if path == "/readyz" {
			var r struct{ Status string }
			if json.Unmarshal(body, &r) != nil || r.Status != "starting" {
				t.Errorf("/readyz says %s, want status starting", body)
			}
		}
		if path == "/metrics" && !strings.Contains(string(body), `redrtc_build_info{commit="c",goversion="go",version="v"} 1`) {
			t.Errorf("/metrics lacks redrtc_build_info:\n%s", body)
		}
	}
}
