package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/redrtc/redrtc/loop"
)

const usageHead = `Usage: redrtc [options]
       redrtc token --room ROOM [--ttl 1h]   (print a room token; token --help)

RedRTC is a WebRTC signaling server: clients connect over WebSocket, join
rooms of at most 6, and exchange offers, answers and ICE candidates.

Options:
`

// usageTail is the options that are not limits, and how flags are read.
const usageTail = `  -i, --interface ADDR  IP address or interface name (lo, eth0) to listen on;
                        "all" for every interface (default all)
      --allowed-origins LIST  comma-separated browser origins allowed to
                        connect, e.g. https://app.example.com; * for any
                        (default *)
      --admin-addr HOST:PORT  serve /metrics, /healthz, /readyz, Go's
                        profiler and the admin API (/v1/) there, e.g.
                        127.0.0.1:9090; off by default (docs/operations.md)
      --admin-token TOKEN  bearer token the admin API and profiler
                        require (env REDRTC_ADMIN_TOKEN); needed when
                        --admin-addr is not a loopback address
      --debug-addr HOST:PORT  serve Go's profiler (/debug/pprof/) there,
                        e.g. 127.0.0.1:6060; off by default. It has no
                        authentication: keep it on a private address.
                        Kept for the bench; --admin-addr serves it too
      --log-file PATH   log there instead of stderr; SIGHUP reopens it
                        (logrotate)
      --pid-file PATH   write the pid there once listening, remove it on
                        exit; refuse to start while another server holds it
      --demo            serve the call page at / and the JavaScript SDK at
                        /sdk/ on the same port, for trying RedRTC out; not
                        for production
  -d, --daemon          run in the background, detached from the terminal;
                        logs go to --log-file, or to stderr only when it is
                        a file (2>>/var/log/redrtc.log)
  -v, --verbose         log debug messages
  -h, --help            show this help
      --version         show the version, commit and Go version

Short flags may take their value attached and be bundled, as getopt reads
them: -p9000, -dv. Logs go to stderr: readable on a terminal, JSON lines
otherwise. Each client's connection and disconnection is an info line.
`

// Each option's help starts at helpColumn and wraps before helpWidth.
const (
	helpColumn = 24
	helpWidth  = 79
)

// printUsage writes --help: the limits' lines come from loop.Limits, so that
// their ranges and defaults are those the flags enforce.
func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString(usageHead)
	for _, l := range loop.Limits() {
		if l.Flag != "" {
			writeOption(&b, limitNames(l), limitHelp(l))
		}
	}
	b.WriteString(authUsage)
	b.WriteString(clusterUsage)
	b.WriteString(usageTail)
	_, _ = io.WriteString(w, b.String())
}

// limitNames is a limit's flag names as --help lists them: "-c, --clients N".
func limitNames(l loop.Limit) string {
	if l.Short == "" {
		return fmt.Sprintf("    --%s %s", l.Flag, l.Arg)
	}
	return fmt.Sprintf("-%s, --%s %s", l.Short, l.Flag, l.Arg)
}

// limitHelp is a limit's help with its range and default:
// "most rooms open at once (1-10000; default 256)".
func limitHelp(l loop.Limit) string {
	valid := fmt.Sprintf("%d-%d", l.Min, l.Max)
	if l.ZeroOff {
		valid += ", 0 turns the limit off"
	}
	text := fmt.Sprintf("%s (%s; default %d)", l.Help, valid, l.Default)
	if l.Note != "" {
		text += "; " + l.Note
	}
	return text
}

// writeOption writes one option of --help: its names, then its help
// wrapped in a column of its own.
func writeOption(b *strings.Builder, names, help string) {
	line := "  " + names
	if len(line) < helpColumn-1 {
		line += strings.Repeat(" ", helpColumn-len(line))
	} else {
		line += "  "
	}
	fresh := true // nothing of help on line yet
	for _, word := range strings.Fields(help) {
		switch {
		case fresh:
			line += word
		case len(line)+1+len(word) > helpWidth:
			b.WriteString(line + "\n")
			line = strings.Repeat(" ", helpColumn) + word
		default:
			line += " " + word
		}
		fresh = false
	}
	b.WriteString(line + "\n")
}
