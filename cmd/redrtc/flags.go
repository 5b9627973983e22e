package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/redrtc/redrtc/internal/debugserve"
	"github.com/redrtc/redrtc/loop"
)

var errHelp = errors.New("help requested")

type options struct {
	cfg     loop.Config
	daemon  bool
	verbose bool
	version bool
	// debugAddr is where to serve Go's profiler; "" for nowhere. It is the
	// binary's, not loop.Config's: the event loops never see it.
	debugAddr string
}

// maxTimeoutSec bounds --timeout, --join-timeout and --rate-kick: a day is
// longer than any of them needs to be, and far from where seconds overflow
// a time.Duration.
const maxTimeoutSec = 86400

// decimal is an int flag read in base 10 only. flag.IntVar reads "0443" as
// octal (291) and "0x1e" as hex, which nobody typing a port means. It holds
// the flag's range, for two errors: a value that is not a number is
// recorded in *bad by Set, and one out of range is found by check after
// parsing (defaults are never Set).
type decimal struct {
	p        *int
	name     string
	min, max int
	// seconds marks a duration: its range reads "30-86400 seconds".
	seconds bool
	// atLeast makes check's errors read "at least"/"at most", as
	// --timeout's always have.
	atLeast bool
	bad     *error
}

func (d *decimal) String() string {
	if d.p == nil {
		return ""
	}
	return strconv.Itoa(*d.p)
}

func (d *decimal) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		valid := fmt.Sprintf("%d-%d", d.min, d.max)
		if d.seconds {
			valid += " seconds"
		}
		*d.bad = fmt.Errorf("--%s must be a whole number, %s, got %q", d.name, valid, s)
		return *d.bad
	}
	*d.p = n
	return nil
}

// check refuses a value out of range. loop.Config reads 0 as "the default",
// so a 0 typed on the command line must be refused here, before it reaches
// Config.
func (d *decimal) check() error {
	v := *d.p
	switch {
	case !d.atLeast && (v < d.min || v > d.max):
		return fmt.Errorf("--%s must be %d-%d, got %d", d.name, d.min, d.max, v)
	case d.atLeast && v < d.min:
		return fmt.Errorf("--%s must be at least %d seconds, got %ds", d.name, d.min, v)
	case d.atLeast && v > d.max:
		return fmt.Errorf("--%s must be at most %d seconds, got %ds", d.name, d.max, v)
	}
	return nil
}

// parseFlags reads the C server's flags, each with a long and a short name.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var timeoutSec, rate, rateKickSec, joinTimeoutSec int
	var origins string
	var badNumber error
	fs := flag.NewFlagSet("redrtc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	// decimals are checked in the order they are made here.
	var decimals []*decimal
	intVar := func(p *int, long, short string, def int, d decimal) {
		*p = def
		d.p, d.name, d.bad = p, long, &badNumber
		decimals = append(decimals, &d)
		fs.Var(&d, long, "")
		if short != "" {
			fs.Var(&d, short, "")
		}
	}
	minSec := int(loop.MinTimeout / time.Second)
	boolVar := func(p *bool, long, short string) {
		fs.BoolVar(p, long, false, "")
		if short != "" {
			fs.BoolVar(p, short, false, "")
		}
	}
	intVar(&o.cfg.Port, "port", "p", 8080, decimal{min: 1, max: 65535})
	fs.StringVar(&o.cfg.Interface, "interface", "all", "")
	fs.StringVar(&o.cfg.Interface, "i", "all", "")
	intVar(&o.cfg.Clients, "clients", "c", loop.DefaultClients, decimal{min: 1, max: loop.MaxClients})
	intVar(&o.cfg.Rooms, "rooms", "r", loop.DefaultRooms, decimal{min: 1, max: loop.MaxRooms})
	intVar(&rate, "rate", "", loop.DefaultRate, decimal{min: 0, max: 1_000_000})
	intVar(&o.cfg.Burst, "burst", "", loop.DefaultBurst, decimal{min: 1, max: 1_000_000})
	intVar(&rateKickSec, "rate-kick", "", int(loop.DefaultRateKick/time.Second), decimal{min: 1, max: maxTimeoutSec, seconds: true})
	intVar(&o.cfg.MaxOutbound, "max-outbound", "", loop.DefaultMaxOutbound, decimal{min: 64 << 10, max: 1 << 30})
	intVar(&timeoutSec, "timeout", "t", int(loop.DefaultTimeout/time.Second), decimal{min: minSec, max: maxTimeoutSec, seconds: true, atLeast: true})
	intVar(&joinTimeoutSec, "join-timeout", "", int(loop.DefaultJoinTimeout/time.Second), decimal{min: minSec, max: maxTimeoutSec, seconds: true, atLeast: true})
	fs.StringVar(&origins, "allowed-origins", "*", "")
	fs.StringVar(&o.debugAddr, "debug-addr", "", "")
	boolVar(&o.daemon, "daemon", "d")
	boolVar(&o.verbose, "verbose", "v")
	boolVar(&o.version, "version", "")
	if err := fs.Parse(getoptForms(fs, args)); err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			return o, errHelp
		case badNumber != nil:
			return o, badNumber
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
		// loop.Config reads no origins as "any origin"; on the command line
		// an empty list is an unset variable ("$ORIGINS"), not a wish to
		// turn the check off, which * says plainly.
		if len(o.cfg.AllowedOrigins) == 0 {
			return o, fmt.Errorf("--allowed-origins %q names no origin; give * to allow every origin", origins)
		}
	}
	for _, d := range decimals {
		if err := d.check(); err != nil {
			return o, err
		}
	}
	if err := debugserve.CheckAddr(o.debugAddr); err != nil {
		return o, err
	}
	return o, nil
}

// getoptForms rewrites the two forms of a getopt command line (how a C
// program, like the server RedRTC replaces, reads its flags) that Go's flag
// package does not read: a short flag with its value attached (-p9000
// becomes -p 9000) and short flags bundled (-dv becomes -d -v, and -dp9000
// -d -p 9000). Arguments that name a flag as they are (-p, -port,
// --port=9000) and flags' values are left alone, and so is anything else,
// for the flag package to read or refuse with its own message.
func getoptForms(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args)+2)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) < 2 || a[0] != '-' {
			out = append(out, a)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if f := fs.Lookup(name); f != nil {
			out = append(out, a)
			if !hasValue && !isBoolFlag(f) && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		}
		bundle, valueNext := splitShortFlags(fs, a)
		if bundle == nil {
			out = append(out, a)
			continue
		}
		out = append(out, bundle...)
		if valueNext && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}

// splitShortFlags reads a ("-dvp9000") as getopt would: one-letter flags,
// the first that takes a value ending the bundle with the rest as its value,
// or with valueNext when nothing is left of a. It returns nil when a is not
// such a bundle: a long flag, or a letter that names no flag.
func splitShortFlags(fs *flag.FlagSet, a string) (bundle []string, valueNext bool) {
	if strings.HasPrefix(a, "--") {
		return nil, false
	}
	for j := 1; j < len(a); j++ {
		if a[j] == 'h' { // help, which the flag package knows without a Flag
			return append(bundle, "-h"), false
		}
		f := fs.Lookup(a[j : j+1])
		if f == nil {
			return nil, false
		}
		bundle = append(bundle, "-"+f.Name)
		if !isBoolFlag(f) {
			if rest := a[j+1:]; rest != "" {
				return append(bundle, rest), false
			}
			return bundle, true
		}
	}
	return bundle, false
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
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
  -t, --timeout SEC     close a client silent for SEC seconds (%d-%d;
                        default %d); pings go out at a third of it
      --rate N          messages per second each client may send, each
                        started 4 KiB counting as one (0 turns the limit
                        off; default %d)
      --burst N         messages a client may send at once, before --rate
                        paces it (default %d)
      --rate-kick SEC   close a client over its rate for SEC seconds
                        (1-%d; default %d)
      --max-outbound N  close a client with more than N bytes waiting to be
                        sent to it (at least 65536; default %d)
      --join-timeout SEC  close a client in no room for SEC seconds
                        (%d-%d; default %d)
      --allowed-origins LIST  comma-separated browser origins allowed to
                        connect, e.g. https://app.example.com; * for any
                        (default *)
      --debug-addr HOST:PORT  serve Go's profiler (/debug/pprof/) there,
                        e.g. 127.0.0.1:6060; off by default. It has no
                        authentication: keep it on a private address
  -d, --daemon          run in the background, detached from the terminal;
                        logs go to stderr only when it is a file
                        (2>>/var/log/redrtc.log)
  -v, --verbose         log debug messages
  -h, --help            show this help
      --version         show the version, commit and Go version

Short flags may take their value attached and be bundled, as getopt reads
them: -p9000, -dv. Logs go to stderr: readable on a terminal, JSON lines
otherwise.
`, loop.MaxClients, loop.DefaultClients, loop.MaxRooms, loop.DefaultRooms,
		int(loop.MinTimeout/time.Second), maxTimeoutSec, int(loop.DefaultTimeout/time.Second),
		loop.DefaultRate, loop.DefaultBurst, maxTimeoutSec, int(loop.DefaultRateKick/time.Second), loop.DefaultMaxOutbound,
		int(loop.MinTimeout/time.Second), maxTimeoutSec, int(loop.DefaultJoinTimeout/time.Second))
}

func goVersion() string { return runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH }
