// Command bench is RedRTC's load generator (make bench): it builds RedRTC and
// the goroutine-per-connection baseline (bench/servers/baseline), checks both with
// the same protocol smoke test, and measures each on fresh processes in the
// same invocation:
//
//   - idle: connect N clients, wait for their client-ids, join rooms of 6,
//     hold; connect rate and server RSS per connection, joined, after
//     everyone left their rooms, and after everyone disconnected;
//   - relay: the clients send offers and answers (about 3 KB of SDP) and ICE
//     candidates (about 250 B) to their room-mates, at a fixed rate and as
//     fast as possible; delivered msgs/s, latency percentiles, server CPU
//     per relayed message, and a count proving every message arrived once;
//   - churn: pairs connect, join, exchange an offer and an answer, leave and
//     disconnect, over and over; sessions/s and server CPU per session.
//
// at 1,000, 5,000, 10,000 clients and the machine's ceiling. It prints a
// Markdown table, writes the same figures as JSON and a PNG chart under
// bench/results/, and stops by itself (-deadline) whatever happens.
//
// The client side runs on raw epoll in worker processes (bench -worker), as
// many as the per-process open-files limit requires, with client sockets
// spread over the source addresses 127.0.0.2, 127.0.0.3, ...
package main

import (
	"os"

	"github.com/redrtc/redrtc/bench/internal/loadclient"
	"github.com/redrtc/redrtc/bench/internal/orchestrate"
)

func main() {
	// The coordinator re-executes this binary as its worker processes.
	if len(os.Args) > 1 && os.Args[1] == loadclient.WorkerFlag {
		os.Exit(loadclient.WorkerMain(os.Stdin, os.Stdout))
	}
	os.Exit(orchestrate.Run(os.Args[1:], os.Stdout, os.Stderr))
}
