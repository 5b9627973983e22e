// Command baseline is RedRTC's signaling protocol implemented the
// conventional way, as the reference the benchmark (make bench) compares
// RedRTC against: net/http on a standard net listener, the upgrade done by
// gobwas/ws, one reader goroutine and one writer goroutine per connection,
// encoding/json for every message, and one mutex over the tables of clients
// and rooms. It is meant to be correct and idiomatic, not slow on purpose.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/redrtc/redrtc/internal/debugserve"
)

// Limits shared with RedRTC's command line.
const (
	defaultClients = 1024
	maxClients     = 65536
	defaultRooms   = 256
	maxRooms       = 10000
	defaultTimeout = 300
	minTimeout     = 30
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

type options struct {
	port      int
	iface     string
	clients   int
	rooms     int
	timeout   int
	verbose   bool
	showUsage bool
	debugAddr string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.port, "port", 8080, "TCP port to listen on")
	fs.IntVar(&o.port, "p", 8080, "TCP port to listen on (short)")
	fs.StringVar(&o.iface, "interface", "all", `IP address or interface name to listen on; "all" for every interface`)
	fs.StringVar(&o.iface, "i", "all", "interface (short)")
	fs.IntVar(&o.clients, "clients", defaultClients, "most clients connected at once (1-65536)")
	fs.IntVar(&o.clients, "c", defaultClients, "clients (short)")
	fs.IntVar(&o.rooms, "rooms", defaultRooms, "most rooms open at once (1-10000)")
	fs.IntVar(&o.rooms, "r", defaultRooms, "rooms (short)")
	fs.IntVar(&o.timeout, "timeout", defaultTimeout, "close a client silent for this many seconds (at least 30)")
	fs.IntVar(&o.timeout, "t", defaultTimeout, "timeout (short)")
	fs.BoolVar(&o.verbose, "verbose", false, "log connections and errors")
	fs.BoolVar(&o.verbose, "v", false, "verbose (short)")
	fs.StringVar(&o.debugAddr, "debug-addr", "", "serve Go's profiler (/debug/pprof/) on this HOST:PORT, as RedRTC's --debug-addr does")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.port < 1 || o.port > 65535:
		return o, fmt.Errorf("--port must be 1-65535, got %d", o.port)
	case o.clients < 1 || o.clients > maxClients:
		return o, fmt.Errorf("--clients must be 1-%d, got %d", maxClients, o.clients)
	case o.rooms < 1 || o.rooms > maxRooms:
		return o, fmt.Errorf("--rooms must be 1-%d, got %d", maxRooms, o.rooms)
	case o.timeout < minTimeout:
		return o, fmt.Errorf("--timeout must be at least %d seconds, got %d", minTimeout, o.timeout)
	}
	return o, debugserve.CheckAddr(o.debugAddr)
}

func run(args []string, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "baseline: %v\n", err)
		return 2
	}
	logger := log.New(stderr, "baseline: ", log.LstdFlags)
	raiseFileLimit(logger, o.clients)

	ip, err := listenIP(o.iface)
	if err != nil {
		fmt.Fprintf(stderr, "baseline: %v\n", err)
		return 2
	}
	debug, err := debugserve.ForFlag(o.debugAddr)
	if err != nil {
		logger.Print(err)
		return 1
	}
	defer func() {
		if err := debug.Close(); err != nil {
			logger.Print(err)
		}
	}()
	if debug != nil {
		logger.Printf("serving Go's profiler on %s", debug.Addr())
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(o.port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Printf("listen on %s: %v", addr, err)
		return 1
	}
	srv := newServer(config{
		clients: o.clients,
		rooms:   o.rooms,
		timeout: time.Duration(o.timeout) * time.Second,
		verbose: o.verbose,
		log:     logger,
	})
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	if o.verbose {
		hs.ErrorLog = logger
	}
	logger.Printf("listening on %s (clients %d, rooms %d, timeout %ds)", ln.Addr(), o.clients, o.rooms, o.timeout)

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		logger.Printf("%v: shutting down", s)
	case err := <-served:
		logger.Printf("server stopped: %v", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx) // hijacked WebSocket connections are not its business
	srv.closeAll()
	return 0
}

// raiseFileLimit raises the soft open-files limit to the hard one, since
// every client holds one descriptor.
func raiseFileLimit(logger *log.Logger, clients int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		logger.Printf("cannot read the open-files limit: %v", err)
		return
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			logger.Printf("cannot raise the open-files limit to %d: %v", lim.Max, err)
			_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
	}
	if need := uint64(clients) + 64; lim.Cur < need {
		logger.Printf("--clients %d cannot be reached: the open-files limit is %d", clients, lim.Cur)
	}
}

// listenIP resolves an IP address or an interface name; "all" means every
// interface.
func listenIP(iface string) (string, error) {
	if iface == "" || iface == "all" {
		return "", nil
	}
	if ip := net.ParseIP(iface); ip != nil {
		return ip.String(), nil
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return "", fmt.Errorf("--interface %q is neither an IP address nor an interface: %w", iface, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return "", fmt.Errorf("--interface %q: %w", iface, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			return ipn.IP.String(), nil
		}
	}
	return "", fmt.Errorf("--interface %q has no IPv4 address", iface)
}
