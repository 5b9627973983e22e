package loop

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestStaticFiles: with Config.Static set, plain GETs and HEADs of its paths
// get the file; other paths, other methods and upgrades behave as without it,
// and clients in a room keep relaying meanwhile.
func TestStaticFiles(t *testing.T) {
	page := []byte("<!doctype html><title>call</title>\n")
	srv := startServer(t, Config{Static: map[string]StaticFile{
		"/":           {ContentType: "text/html; charset=utf-8", Body: page},
		"/sdk/app.js": {ContentType: "text/javascript; charset=utf-8", Body: bytes.Repeat([]byte("x"), 200<<10)},
		"/empty.css":  {ContentType: "text/css", Body: nil},
	}})
	mate, other := pairInRoom(t, srv, "r")
	cases := []struct {
		name, request, contentType string
		status                     int
		length                     int
	}{
		{"index", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "text/html; charset=utf-8", 200, len(page)},
		{"query ignored", "GET /?room=a HTTP/1.1\r\nHost: x\r\n\r\n", "text/html; charset=utf-8", 200, len(page)},
		{"larger than a read", "GET /sdk/app.js HTTP/1.1\r\nHost: x\r\n\r\n", "text/javascript; charset=utf-8", 200, 200 << 10},
		{"empty", "GET /empty.css HTTP/1.1\r\nHost: x\r\n\r\n", "text/css", 200, 0},
		{"unknown path", "GET /nope.js HTTP/1.1\r\nHost: x\r\n\r\n", textPlain, 426, -1},
		{"POST", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", textPlain, 426, -1},
		{"healthz still", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "application/json", 200, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, srv)
			r.write([]byte(tc.request))
			resp := r.response()
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.contentType {
				t.Fatalf("status %d, Content-Type %q; want %d, %q", resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.contentType)
			}
			if cors := resp.Header.Get("Access-Control-Allow-Origin"); (tc.status == 200 && tc.contentType != "application/json") != (cors == "*") {
				t.Errorf("Access-Control-Allow-Origin %q on a %d response", cors, resp.StatusCode)
			}
			if tc.length >= 0 && b.Len() != tc.length {
				t.Fatalf("body of %d bytes, want %d", b.Len(), tc.length)
			}
			if tc.status == 200 && strings.HasPrefix(tc.contentType, "text/html") && !bytes.Equal(b.Bytes(), page) {
				t.Fatalf("body %q, want %q", b.Bytes(), page)
			}
			stillRelaying(t, mate, other)
		})
	}
	t.Run("HEAD", func(t *testing.T) {
		r := dialRaw(t, srv)
		r.write([]byte("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"))
		resp, err := http.ReadResponse(r.br, &http.Request{Method: http.MethodHead})
		if err != nil {
			t.Fatalf("read response: %v", err)
		}
		if resp.StatusCode != 200 || resp.ContentLength != int64(len(page)) || !resp.Close {
			t.Fatalf("status %d, Content-Length %d, close %v; want 200, %d, true", resp.StatusCode, resp.ContentLength, resp.Close, len(page))
		}
		if n, _ := r.br.Read(make([]byte, 1)); n != 0 {
			t.Fatal("a body followed the head")
		}
	})
	t.Run("upgrade on a static path", func(t *testing.T) {
		r := dialRaw(t, srv)
		r.write([]byte(strings.Replace(upgradeRequest, "GET /signal ", "GET / ", 1)))
		if resp := r.response(); resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("status %d, want 101", resp.StatusCode)
		}
	})
}

func TestStaticConfigValidated(t *testing.T) {
	for _, path := range []string{"", "index.html", "/a?b", "/a b"} {
		cfg := Config{Static: map[string]StaticFile{path: {ContentType: "text/plain", Body: []byte("x")}}}
		if err := cfg.Validate(); err == nil {
			t.Errorf("path %q accepted", path)
		}
	}
	cfg := Config{Static: map[string]StaticFile{"/x": {Body: []byte("x")}}}
	if err := cfg.Validate(); err == nil {
		t.Error("a file without a content type accepted")
	}
}
