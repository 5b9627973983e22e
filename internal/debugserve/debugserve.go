// Package debugserve serves Go's profiler (/debug/pprof/) on a listener of
// its own, for the servers' --debug-addr flag.
package debugserve

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// FineHeapProfiles is the environment setting that makes heap profiles of
// a small server worth reading: one allocation sampled per 4 KiB on average.
// Go's default, one per 512 KiB, leaves a heap profile of a thousand idle
// clients (under a MiB of live heap) with one or two samples. It is not
// the default here because each sample costs a stack walk, which a server
// allocating on every message, like the benchmark's baseline, pays in CPU.
const FineHeapProfiles = "GODEBUG=memprofilerate=4096"

// notServing turns allocation sampling off in a process that will not serve
// the profiler. Linking this package links runtime/pprof, and with it Go
// samples one allocation per 512 KiB from the start, for heap profiles that
// nothing could read without Start.
func notServing() { runtime.MemProfileRate = 0 }

// CheckAddr refuses a --debug-addr not of the form HOST:PORT with a numeric
// port, naming the flag, so that each server can treat a typo as a bad
// command line (exit 2) and not as a failure to start. That is stricter than
// net.Listen, which also takes a service name ("localhost:http"), an empty
// port or a signed one ("+0"). An empty host (":6060") is every interface,
// as net.Listen reads it; an empty addr is the flag left out, and fine.
func CheckAddr(addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--debug-addr must be HOST:PORT, e.g. 127.0.0.1:6060, got %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || port[0] < '0' || port[0] > '9' {
		return fmt.Errorf("--debug-addr's port must be 0-65535 (0 for any free port), got %q", port)
	}
	return nil
}

// ForFlag applies a --debug-addr flag's value, checked by CheckAddr. For ""
// it serves nothing, turns allocation sampling off (notServing) and returns
// a nil *Server, whose Addr and Close are safe to call; otherwise it is
// Start. Each server binary goes through here, so that none forgets the
// sampling.
func ForFlag(addr string) (*Server, error) {
	if addr == "" {
		notServing()
		return nil, nil
	}
	return Start(addr)
}

// Server is a running debug listener. It has no authentication: whoever
// reaches it can read the process's memory layout and command line, and
// make it spend CPU on profiles, so it belongs on a loopback or private
// address only.
type Server struct {
	ln  net.Listener
	srv *http.Server

	mu  sync.Mutex
	err error // what Serve returned, if not because of Close
}

// Start listens on addr ("127.0.0.1:6060"; port 0 picks a free port) and
// serves the profiler there until Close.
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: /debug/pprof/profile?seconds=N answers after N
	// seconds, and pprof refuses N longer than the server's write timeout.
	s := &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
		}
	}()
	return s, nil
}

// Addr is the address the listener is bound to, its port chosen when addr's
// was 0; nil for the nil *Server of an empty flag.
func (s *Server) Addr() net.Addr {
	if s == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops the listener and every profile being served, and reports why
// serving had stopped before, if it had. Nothing, for the nil *Server of an
// empty flag.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	err := s.srv.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return fmt.Errorf("debug listener: %w", s.err)
	}
	return err
}
