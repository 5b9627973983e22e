// Command floor is the least a gnet server can do to speak RedRTC's protocol
// well enough for the benchmark: the "deliberately minimal gnet + gobwas/ws
// relay" that issue 4 names as the floor RedRTC should land close to. It
// checks nothing, limits nothing and batches nothing; it is something to
// measure against (make bench BENCHFLAGS='-servers redrtc,baseline,floor'),
// never a server to run.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"github.com/panjf2000/gnet/v2"

	"github.com/redrtc/redrtc/internal/debugserve"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("p", 8080, "TCP port to listen on")
	iface := fs.String("i", "127.0.0.1", "IP address to listen on")
	// Accepted so that the benchmark can start every server alike; the
	// floor has no limits to set.
	fs.Int("c", 0, "ignored")
	fs.Int("r", 0, "ignored")
	debugAddr := fs.String("debug-addr", "", "serve Go's profiler (/debug/pprof/) on this HOST:PORT, as RedRTC's --debug-addr does")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := debugserve.CheckAddr(*debugAddr); err != nil {
		fmt.Fprintf(stderr, "floor: %v\n", err)
		return 2
	}
	debug, err := debugserve.ForFlag(*debugAddr)
	if err != nil {
		fmt.Fprintf(stderr, "floor: %v\n", err)
		return 1
	}
	defer func() {
		if err := debug.Close(); err != nil {
			fmt.Fprintf(stderr, "floor: %v\n", err)
		}
	}()
	addr := "tcp://" + net.JoinHostPort(*iface, strconv.Itoa(*port))
	err = gnet.Run(newServer(), addr, gnet.WithMulticore(true), gnet.WithReuseAddr(true))
	if err != nil {
		fmt.Fprintf(stderr, "floor: %v\n", err)
		return 1
	}
	return 0
}
