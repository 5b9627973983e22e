package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/redrtc/redrtc/loop"
)

var errHelp = errors.New("help requested")

type options struct {
	cfg     loop.Config
	daemon  bool
	verbose bool
	version bool
}

// parseFlags reads the C server's flags, each with a long and a short name.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var timeoutSec, rate, rateKickSec, joinTimeoutSec int
	var origins string
	fs := flag.NewFlagSet("redrtc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	intVar := func(p *int, long, short string, def int) {
		fs.IntVar(p, long, def, "")
		fs.IntVar(p, short, def, "")
	}
	boolVar := func(p *bool, long, short string) {
		fs.BoolVar(p, long, false, "")
		if short != "" {
			fs.BoolVar(p, short, false, "")
		}
	}
	intVar(&o.cfg.Port, "port", "p", 8080)
	fs.StringVar(&o.cfg.Interface, "interface", "all", "")
	fs.StringVar(&o.cfg.Interface, "i", "all", "")
	intVar(&o.cfg.Clients, "clients", "c", loop.DefaultClients)
	intVar(&o.cfg.Rooms, "rooms", "r", loop.DefaultRooms)
	intVar(&timeoutSec, "timeout", "t", int(loop.DefaultTimeout/time.Second))
	fs.IntVar(&rate, "rate", loop.DefaultRate, "")
	fs.IntVar(&o.cfg.Burst, "burst", loop.DefaultBurst, "")
	fs.IntVar(&rateKickSec, "rate-kick", int(loop.DefaultRateKick/time.Second), "")
	fs.IntVar(&o.cfg.MaxOutbound, "max-outbound", loop.DefaultMaxOutbound, "")
	fs.IntVar(&joinTimeoutSec, "join-timeout", int(loop.DefaultJoinTimeout/time.Second), "")
	fs.StringVar(&origins, "allowed-origins", "*", "")
	boolVar(&o.daemon, "daemon", "d")
	boolVar(&o.verbose, "verbose", "v")
	boolVar(&o.version, "version", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, errHelp
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.cfg.Timeout = time.Duration(timeoutSec) * time.Second
	o.cfg.RateKick = time.Duration(rateKickSec) * time.Second
	o.cfg.JoinTimeout = time.Duration(joinTimeoutSec) * time.Second
	o.cfg.Rate = rate
	if rate == 0 {
		o.cfg.Rate = -1 // loop.Config's "off"; its 0 means the default
	}
	if origins != "*" {
		for o2 := range strings.SplitSeq(origins, ",") {
			if o2 = strings.TrimSpace(o2); o2 != "" {
				o.cfg.AllowedOrigins = append(o.cfg.AllowedOrigins, o2)
			}
		}
	}
	// loop.Config reads 0 as "the default", so a 0 typed on the command line
	// must be refused here, before it reaches Config.
	for _, r := range []struct {
		name     string
		value    int
		min, max int
	}{
		{"port", o.cfg.Port, 1, 65535},
		{"clients", o.cfg.Clients, 1, loop.MaxClients},
		{"rooms", o.cfg.Rooms, 1, loop.MaxRooms},
		{"rate", rate, 0, 1_000_000},
		{"burst", o.cfg.Burst, 1, 1_000_000},
		{"rate-kick", rateKickSec, 1, 86400},
		{"max-outbound", o.cfg.MaxOutbound, 64 << 10, 1 << 30},
	} {
		if r.value < r.min || r.value > r.max {
			return o, fmt.Errorf("--%s must be %d-%d, got %d", r.name, r.min, r.max, r.value)
		}
	}
	if minSec := int(loop.MinTimeout / time.Second); timeoutSec < minSec {
		return o, fmt.Errorf("--timeout must be at least %d seconds, got %ds", minSec, timeoutSec)
	}
	if minSec := int(loop.MinTimeout / time.Second); joinTimeoutSec < minSec {
		return o, fmt.Errorf("--join-timeout must be at least %d seconds, got %ds", minSec, joinTimeoutSec)
	}
	return o, nil
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, `Usage: redrtc [options]

RedRTC is a WebRTC signaling server: clients connect over WebSocket, join
rooms of at most 6, and exchange offers, answers and ICE candidates.

Options:
  -p, --port N          TCP port to listen on (1-65535; default 8080)
  -i, --interface ADDR  IP address or interface name (lo, eth0) to listen on;
                        "all" for every interface (default all)
  -c, --clients N       most clients connected at once (1-%d; default %d)
  -r, --rooms N         most rooms open at once (1-%d; default %d)
  -t, --timeout SEC     close a client silent for SEC seconds (at least %d;
                        default %d); pings go out at a third of it
      --rate N          messages per second each client may send, each
                        started 4 KiB counting as one (0 turns the limit
                        off; default %d)
      --burst N         messages a client may send at once above --rate
                        (default %d)
      --rate-kick SEC   close a client over its rate for SEC seconds (default %d)
      --max-outbound N  close a client with more than N bytes waiting to be
                        sent to it (at least 65536; default %d)
      --join-timeout SEC  close a client in no room for SEC seconds
                        (at least %d; default %d)
      --allowed-origins LIST  comma-separated browser origins allowed to
                        connect, e.g. https://app.example.com; * for any
                        (default *)
  -d, --daemon          run in the background, detached from the terminal
  -v, --verbose         log debug messages
  -h, --help            show this help
      --version         show the version, commit and Go version

Logs go to stderr: readable on a terminal, JSON lines otherwise.
`, loop.MaxClients, loop.DefaultClients, loop.MaxRooms, loop.DefaultRooms,
		int(loop.MinTimeout/time.Second), int(loop.DefaultTimeout/time.Second),
		loop.DefaultRate, loop.DefaultBurst, int(loop.DefaultRateKick/time.Second), loop.DefaultMaxOutbound,
		int(loop.MinTimeout/time.Second), int(loop.DefaultJoinTimeout/time.Second))
}

func goVersion() string { return runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH }
