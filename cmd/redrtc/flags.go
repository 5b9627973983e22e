package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/redrtc/redrtc/cluster"
	"github.com/redrtc/redrtc/internal/debugserve"
	"github.com/redrtc/redrtc/loop"
)

var errHelp = errors.New("help requested")

type options struct {
	cfg     loop.Config
	daemon  bool
	verbose bool
	version bool
	demo    bool // serve the call page and the SDK (demo.go)
	// debugAddr is where to serve Go's profiler; "" for nowhere. It is the
	// binary's, not loop.Config's: the event loops never see it.
	debugAddr string
	// admin is the admin listener's flags (admin.go).
	admin adminFlags
	// cluster is the node's cluster configuration, nil without --nats-url
	// (cluster.go).
	cluster *cluster.Config
	// logFile and pidFile are absolute paths, or "" (files.go).
	logFile, pidFile string
	// flags is the flag set read, for --help's list of variables; env says
	// which flags the environment set (env.go).
	flags *flag.FlagSet
	env   fromEnv
}

// decimal is a limit's flag (loop.Limits), read in base 10 only.
// flag.IntVar reads "0443" as octal (291) and "0x1e" as hex, which nobody
// typing a port means. A value that is not a number is recorded in *bad by
// Set; one out of range is refused after parsing, as defaults are never Set.
type decimal struct {
	limit loop.Limit
	v     int
	bad   *error
}

func (d *decimal) String() string { return strconv.Itoa(d.v) }

func (d *decimal) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		*d.bad = d.limit.NotANumber(s)
		return *d.bad
	}
	d.v = n
	return nil
}

// parseFlags reads the C server's flags, each with a long and a short name.
func parseFlags(args []string, stderr io.Writer) (o options, err error) {
	defer func() { err = o.env.blame(err) }()
	var origins string
	var badNumber error
	fs := flag.NewFlagSet("redrtc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var decimals []*decimal
	for _, l := range loop.Limits() {
		if l.Flag == "" {
			continue
		}
		d := &decimal{limit: l, v: l.Default, bad: &badNumber}
		decimals = append(decimals, d)
		fs.Var(d, l.Flag, "")
		if l.Short != "" {
			fs.Var(d, l.Short, "")
		}
	}
	boolVar := func(p *bool, long, short string) {
		fs.BoolVar(p, long, false, "")
		if short != "" {
			fs.BoolVar(p, short, false, "")
		}
	}
	fs.StringVar(&o.cfg.Interface, "interface", "all", "")
	fs.StringVar(&o.cfg.Interface, "i", "all", "")
	fs.StringVar(&origins, "allowed-origins", "*", "")
	fs.StringVar(&o.debugAddr, "debug-addr", "", "")
	o.admin.define(fs)
	fs.StringVar(&o.logFile, "log-file", "", "")
	fs.StringVar(&o.pidFile, "pid-file", "", "")
	boolVar(&o.daemon, "daemon", "d")
	boolVar(&o.verbose, "verbose", "v")
	boolVar(&o.version, "version", "")
	boolVar(&o.demo, "demo", "")
	var af authFlags // access tokens and TURN (token_flags.go)
	af.register(fs, true)
	var cf clusterFlags // cluster.go
	cf.define(fs)
	o.flags = fs
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
	if o.env, err = applyEnv(fs, os.LookupEnv); err != nil {
		return o, err
	}
	if err := o.absoluteFiles(); err != nil {
		return o, err
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
	// loop.Config reads 0 as "the default", so a 0 typed on the command line
	// must be refused here, before it reaches Config.
	for _, d := range decimals {
		if err := d.limit.Check(d.v); err != nil {
			return o, err
		}
		d.limit.Set(&o.cfg, d.v)
	}
	if err := debugserve.CheckAddr(o.debugAddr); err != nil {
		return o, err
	}
	if err := o.admin.check(); err != nil {
		return o, err
	}
	if err := af.apply(&o.cfg, os.Getenv); err != nil {
		return o, err
	}
	if o.cluster, err = cf.config(o.cfg.Rooms, os.Getenv); err != nil {
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

func goVersion() string { return runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH }
