// Package admin is RedRTC's admin listener: Prometheus metrics, liveness and readiness, Go's profiler and the operator's JSON API.
package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is what the admin listener needs to start.
type Config struct {
	// Addr is HOST:PORT to listen on; port 0 picks a free port.
	Addr string
	// Token, when set, is the bearer token /v1/ and /debug/pprof/ require.
	Token string
	// Version, Commit and GoVersion label redrtc_build_info.
	Version, Commit, GoVersion string
}

// CheckAddr refuses an admin address that is not HOST:PORT with a numeric
// port, and one that is not loopback when no token protects it: the API
// disconnects clients and stops the server.
func CheckAddr(addr, token string) error {
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || strings.Trim(port, "0123456789") != "" {
		return fmt.Errorf("--admin-addr must be HOST:PORT, e.g. 127.0.0.1:9090, got %q", addr)
	}
	if token == "" && !Loopback(host) {
		return fmt.Errorf("--admin-addr %s is not a loopback address: set --admin-token (or REDRTC_ADMIN_TOKEN) to protect the admin API", addr)
	}
	return nil
}

// Loopback reports whether host names only loopback addresses: "localhost",
// or an IP in 127.0.0.0/8 or ::1. An empty host is every interface.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Listener is a running admin listener. Its HTTP server runs a goroutine
// per admin connection (operators and Prometheus: a handful), never one
// per client.
type Listener struct {
	cfg  Config
	ln   net.Listener
	http *http.Server
	// ctl is the server, once it listens; nil before.
	ctl      atomic.Pointer[controlBox]
	stopping atomic.Bool
	started  time.Time

	mu  sync.Mutex
	err error
}

// controlBox lets an interface value live in an atomic.Pointer.
type controlBox struct{ Control }

// Start listens on cfg.Addr and serves until Close. Until Serving is called
// /readyz answers 503 and /v1/ 503; /healthz and /metrics answer at once.
func Start(cfg Config) (*Listener, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	l := &Listener{cfg: cfg, ln: ln, started: time.Now()}
	l.http = &http.Server{Handler: l.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := l.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			l.mu.Lock()
			l.err = err
			l.mu.Unlock()
		}
	}()
	return l, nil
}

// Addr is the address the listener is bound to.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Serving hands the listener the server, now accepting clients: /readyz
// answers 200 until Stopping or a drain.
func (l *Listener) Serving(c Control) { l.ctl.Store(&controlBox{c}) }

// Stopping turns /readyz to 503 for good: the server is shutting down.
func (l *Listener) Stopping() { l.stopping.Store(true) }

// Close stops the listener and every request being served, and reports why
// serving had stopped before, if it had.
func (l *Listener) Close() error {
	err := l.http.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return fmt.Errorf("admin listener: %w", l.err)
	}
	return err
}

func (l *Listener) control() Control {
	if b := l.ctl.Load(); b != nil {
		return b.Control
	}
	return nil
}

// routes is the listener's whole surface.
func (l *Listener) routes() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newCollector(l),
	)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: nil}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", l.readyz)

	mux.Handle("GET /debug/pprof/", l.authorized(http.HandlerFunc(pprof.Index)))
	mux.Handle("GET /debug/pprof/cmdline", l.authorized(http.HandlerFunc(pprof.Cmdline)))
	mux.Handle("GET /debug/pprof/profile", l.authorized(http.HandlerFunc(pprof.Profile)))
	mux.Handle("GET /debug/pprof/symbol", l.authorized(http.HandlerFunc(pprof.Symbol)))
	mux.Handle("GET /debug/pprof/trace", l.authorized(http.HandlerFunc(pprof.Trace)))

	api := http.NewServeMux()
	api.HandleFunc("GET /v1/stats", l.stats)
	api.HandleFunc("GET /v1/rooms", l.rooms)
	api.HandleFunc("GET /v1/rooms/{id}", l.room)
	api.HandleFunc("DELETE /v1/rooms/{id}", l.closeRoom)
	api.HandleFunc("DELETE /v1/clients/{id}", l.kick)
	api.HandleFunc("POST /v1/drain", l.drain)
	mux.Handle("/v1/", l.authorized(api))
	return jsonErrors(mux)
}

// readyz is 200 while the server accepts clients, 503 before it listens,
// while it drains, once it stops, and while a node of a cluster has no
// NATS connection (a client sent there could reach no other node).
func (l *Listener) readyz(w http.ResponseWriter, _ *http.Request) {
	c := l.control()
	switch {
	case c == nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
	case l.stopping.Load():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "stopping"})
	case c.Draining():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
	case noNATS(c):
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "no-nats"})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// authorized requires the bearer token, when one is set.
func (l *Listener) authorized(h http.Handler) http.Handler {
	if l.cfg.Token == "" {
		return h
	}
	want := []byte("Bearer " + l.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if got == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="redrtc"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer with the admin token")
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="redrtc", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "the bearer token is not the admin token")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// jsonErrors turns the plain-text 404 and 405 that net/http's ServeMux
// answers for an unknown path or method into JSON errors, keeping the 405's
// Allow header. What the handlers write themselves passes as it is.
func jsonErrors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&errorWriter{ResponseWriter: w}, r)
	})
}

// errorWriter replaces the body of a plain-text 404 or 405 with JSON.
type errorWriter struct {
	http.ResponseWriter
	replaced bool
}

func (e *errorWriter) WriteHeader(status int) {
	plain := strings.HasPrefix(e.Header().Get("Content-Type"), "text/plain")
	switch {
	case plain && status == http.StatusNotFound:
		e.replaced = true
		writeError(e.ResponseWriter, status, "not-found", "no such endpoint; see docs/operations.md")
	case plain && status == http.StatusMethodNotAllowed:
		e.replaced = true
		writeError(e.ResponseWriter, status, "method-not-allowed", "allowed: "+e.Header().Get("Allow"))
	default:
		e.ResponseWriter.WriteHeader(status)
	}
}

func (e *errorWriter) Write(b []byte) (int, error) {
	if e.replaced {
		return len(b), nil
	}
	return e.ResponseWriter.Write(b)
}

// Flush lets the profiler's long answers stream.
func (e *errorWriter) Flush() {
	if f, ok := e.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away
}

// apiError is every error's body.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Del("Content-Length")
	writeJSON(w, status, apiError{Error: code, Message: message})
}

// noNATS reports whether the server is a node of a cluster that cannot
// reach NATS now.
func noNATS(c Control) bool {
	cl := c.Counts().Cluster
	return cl != nil && !cl.Connected
}
