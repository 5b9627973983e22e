package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzAdminRequest sends the listener's routes arbitrary paths and queries
// (the cursor and limit decoders, the ids) and checks that every answer is
// a JSON body with a status the API documents.
func FuzzAdminRequest(f *testing.F) {
	for _, s := range []string{"/v1/rooms?limit=2&cursor=cjE", "/v1/rooms?cursor=%21", "/v1/rooms/r1", "/v1/clients/x", "/v1/stats", "/readyz", "/v1/rooms?limit=-1"} {
		f.Add("GET", s)
	}
	f.Add("DELETE", "/v1/rooms/%00")
	f.Add("POST", "/v1/drain")
	l := &Listener{cfg: Config{Token: "t"}}
	h := l.routes()
	f.Fuzz(func(t *testing.T, method, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || (method != "GET" && method != "DELETE" && method != "POST" && method != "PUT") {
			return
		}
		req, err := http.NewRequest(method, "http://admin"+u.RequestURI(), nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer t")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			return // /metrics, /healthz, or ServeMux cleaning a path
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusServiceUnavailable:
		default:
			t.Fatalf("%s %s: status %d", method, target, w.Code)
		}
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s %s: %d with a body that is not JSON: %q", method, target, w.Code, w.Body.String())
		}
	})
}
