// Package loop is RedRTC's network side: a gnet multi-reactor event loop that
// upgrades HTTP to WebSocket, frames and unframes messages, and dispatches them.
package loop

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// Server is a running RedRTC server.
type Server struct {
	cfg      Config
	hooks    testHooks
	log      zerolog.Logger
	clients  *registry.Clients
	rooms    *registry.Rooms
	upgrader ws.Upgrader
	// resumeKey makes and checks resume tokens (proto.ResumeKey).
	resumeKey *proto.ResumeKey
	// retainedFreed counts resume buffers left to the collector, for the
	// memory trimmer (retained.go).
	retainedFreed atomic.Int64
	// clock is the coarse time, in nanoseconds, that stamps lastSeen; the
	// ticker advances it. It counts from started on the monotonic clock, so
	// that a step of the wall clock (NTP, a VM restored or migrated) cannot
	// time every client out at once, or rate-limit them all.
	clock atomic.Int64
	// started is the wall clock at start, in Unix nanoseconds, and the
	// clock's first reading; base is the same instant with its monotonic
	// reading.
	started int64
	base    time.Time
	// tickEvery is how often idle connections are looked for.
	tickEvery time.Duration
	// rate is --rate and --burst in the rate limiter's terms.
	rate    rateLimit
	trimmer memoryTrimmer
	// refusals spaces the info lines about refused clients (connlog.go).
	refusals refusals

	// The server accepts connections itself (see accept.go) and hands them
	// to the event loops of a gnet engine that has no listener of its own.
	ln        *net.TCPListener
	engine    *gnet.Client
	accepting sync.WaitGroup
	stopOnce  sync.Once
	done      chan struct{}

	loopsMu sync.Mutex
	loops   map[gnet.EventLoop]*loopState

	// Metrics and the admin API's state: metrics.go, metrics_relay.go,
	// admin.go.
	outOfDescriptors atomic.Uint64
	offers           offerTable
	admin            adminState
	// clusterSide is how a cluster's goroutines reach the clients
	// (cluster.go); unused on a lone server.
	clusterSide clusterSide
}

// Start validates cfg, starts the server and returns once it is accepting
// connections.
func Start(cfg Config) (*Server, error) { return start(cfg, testHooks{}) }

// start is Start with the points where tests reach inside the server.
func start(cfg Config, hooks testHooks) (*Server, error) {
	cfg = cfg.withDefaults()
	hooks = hooks.withDefaults()
	if err := cfg.validate(hooks.minTimeout); err != nil {
		return nil, err
	}
	ip, err := cfg.listenIP()
	if err != nil {
		return nil, err
	}
	s := newServer(cfg, hooks)
	s.checkFileLimit()

	loops := cfg.EventLoops
	if loops == 0 {
		loops = runtime.GOMAXPROCS(0)
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(cfg.Port))
	// No TCP keepalive on accepted connections (Go turns it on, every 15 s):
	// the server's own pings at a third of --timeout already find dead
	// peers, and on tens of thousands of idle connections the probes would
	// be thousands of packets a second, each waking a mobile client's radio.
	ln, err := (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err) // err names the address
	}
	s.ln = ln.(*net.TCPListener)
	s.engine, err = gnet.NewClient(&events{srv: s},
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(loops),
		gnet.WithTicker(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(gnetLogger{s.log}),
	)
	if err == nil {
		err = s.engine.Start()
	}
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("start event loops: %w", err)
	}
	if err := s.startAccepting(acceptorsPerLoop * loops); err != nil {
		_ = ln.Close()
		_ = s.engine.Stop()
		return nil, err
	}
	s.log.Info().Stringer("addr", s.Addr()).Func(cfg.logLimits).Int("loops", loops).Int("procs", runtime.GOMAXPROCS(0)).Msg("listening")
	return s, nil
}

// newServer builds the server's state for a validated cfg, before any socket.
func newServer(cfg Config, hooks testHooks) *Server {
	s := &Server{
		cfg:       cfg,
		hooks:     hooks,
		log:       *cfg.Logger,
		clients:   registry.NewClients(cfg.Clients),
		rooms:     registry.NewRooms(cfg.Rooms),
		upgrader:  newUpgrader(),
		tickEvery: min(max(cfg.Timeout/10, 20*time.Millisecond), 100*time.Millisecond),
		rate:      newRateLimit(cfg),
		done:      make(chan struct{}),
		loops:     make(map[gnet.EventLoop]*loopState),
	}
	s.admin.drained = make(chan struct{})
	s.clusterSide.ls = &loopState{srv: s, enc: make([]byte, maxServerHeader, 4096)}
	s.resumeKey = newResumeKey()
	s.base = time.Now()
	s.started = s.base.UnixNano()
	s.clock.Store(s.started)
	return s
}

// Addr is the address the server listens on, with the port it bound.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Clients returns the number of connected clients.
func (s *Server) Clients() int { return s.clients.Len() }

// Rooms returns the number of open rooms.
func (s *Server) Rooms() int { return s.rooms.Len() }

// Done is closed when the server has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }

// Stop closes the listener, tells every client the server is going away
// (close 1001), closes every connection and waits for the event loops to end,
// or for ctx to expire.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		go func() {
			_ = s.ln.Close()
			s.accepting.Wait() // every accepted connection is on a loop now
			s.sayGoodbye(ctx)
			if err := s.engine.Stop(); err != nil {
				s.log.Error().Err(err).Msg("stopping event loops")
			}
			close(s.done)
		}()
	})
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop: %w", ctx.Err())
	}
}

func (s *Server) now() int64 { return s.clock.Load() }

// uptimeSeconds is the time since the server started, in whole seconds
// rounded up, so that a timeout counted from it is never cut short.
func (s *Server) uptimeSeconds() uint32 {
	return uint32((s.now() - s.started + int64(time.Second) - 1) / int64(time.Second))
}

// loopFor returns the state of the event loop el, creating it on first use.
func (s *Server) loopFor(el gnet.EventLoop) *loopState {
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	ls := s.loops[el]
	if ls == nil {
		ls = &loopState{srv: s, el: el, enc: make([]byte, maxServerHeader, 4096)}
		s.loops[el] = ls
	}
	return ls
}

// recoverLoop keeps a panic outside any one client's message handling from
// ending the process: it is logged, and the loop goes on.
func (s *Server) recoverLoop(what string) {
	if v := recover(); v != nil {
		s.logPanic(v, "", what)
	}
}

// logPanic logs a recovered panic with the stack of the goroutine it hit.
func (s *Server) logPanic(v any, client, what string) {
	buf := make([]byte, 4096)
	buf = buf[:runtime.Stack(buf, false)]
	ev := s.log.Error().Interface("panic", v).Bytes("stack", buf)
	if client != "" {
		ev = ev.Str("client", client)
	}
	ev.Msg("panic while " + what)
}
