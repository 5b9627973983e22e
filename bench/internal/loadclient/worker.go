package loadclient

// Worker mode (bench -worker): a process of pollers holding up to one
// process's worth of client sockets, driven by the coordinator over
// stdin/stdout, one JSON object per line each way.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"time"

	"github.com/redrtc/redrtc/bench/internal/ipc"
	"github.com/redrtc/redrtc/bench/internal/layout"
	"github.com/redrtc/redrtc/bench/internal/limits"
	"golang.org/x/sys/unix"
)

// worker is the pollers of one process and what they share.
type worker struct {
	cfg   ipc.Command
	loops []*poller
	// dsts and hosts are the server's address, or each node's in a
	// cluster (layout.NodeOf says whose)
	dsts  []unix.SockaddrInet4
	src   []unix.SockaddrInet4
	hosts []string
	path  string
	tmpl  templates
}

// WorkerFlag, as the first argument, makes the bench binary a worker
// process: the coordinator re-executes itself with it.
const WorkerFlag = "-worker"

// WorkerMain serves one coordinator: ipc.Commands, one JSON object a line,
// on stdin, and an ipc.Report for each on stdout. It returns the exit
// status.
func WorkerMain(stdin io.Reader, stdout io.Writer) int {
	limits.RaiseNoFile()
	// BENCH_WORKER_CPUPROFILE=prefix profiles each worker to prefix.PID.
	if prefix := os.Getenv("BENCH_WORKER_CPUPROFILE"); prefix != "" {
		if f, err := os.Create(fmt.Sprintf("%s.%d", prefix, os.Getpid())); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	dec := json.NewDecoder(bufio.NewReaderSize(stdin, 64<<10))
	out := bufio.NewWriter(stdout)
	enc := json.NewEncoder(out)
	reply := func(r ipc.Report) {
		_ = enc.Encode(r)
		_ = out.Flush()
	}
	var w *worker
	for {
		var cmd ipc.Command
		if err := dec.Decode(&cmd); err != nil {
			if w != nil {
				w.stop()
			}
			return 0 // the coordinator is gone
		}
		switch {
		case cmd.Op == "setup":
			if w != nil {
				reply(ipc.Report{Op: cmd.Op, Err: "already set up"})
				continue
			}
			var err error
			w, err = newWorker(cmd)
			rep := ipc.Report{Op: cmd.Op}
			if err != nil {
				rep.Err = err.Error()
			}
			reply(rep)
		case cmd.Op == "exit":
			if w != nil {
				w.stop()
			}
			reply(ipc.Report{Op: cmd.Op})
			return 0
		case w == nil:
			reply(ipc.Report{Op: cmd.Op, Err: "not set up"})
		default:
			reply(w.do(cmd))
		}
	}
}

func newWorker(cfg ipc.Command) (*worker, error) {
	w := &worker{cfg: cfg, hosts: cfg.Hosts, path: cfg.Path}
	if len(w.hosts) == 0 {
		w.hosts = []string{cfg.Host}
	}
	if w.path == "" {
		w.path = "/"
	}
	if cfg.RoomSize < 1 {
		return nil, fmt.Errorf("room size must be at least 1")
	}
	if len(w.hosts) > 255 {
		return nil, fmt.Errorf("%d nodes: at most 255", len(w.hosts))
	}
	for _, h := range w.hosts {
		addr, err := net.ResolveTCPAddr("tcp4", h)
		if err != nil {
			return nil, err
		}
		var dst unix.SockaddrInet4
		dst.Port = addr.Port
		copy(dst.Addr[:], addr.IP.To4())
		w.dsts = append(w.dsts, dst)
	}
	for _, s := range cfg.SrcIPs {
		ip := net.ParseIP(s).To4()
		if ip == nil {
			return nil, fmt.Errorf("bad source address %q", s)
		}
		var sa unix.SockaddrInet4
		copy(sa.Addr[:], ip)
		w.src = append(w.src, sa)
	}
	w.tmpl = newTemplates(cfg.SDPBytes, cfg.CandidateBytes)

	// Whole rooms per poller, so that a room's members share a poller and its
	// messages can be checked without talking to other pollers.
	n := max(1, cfg.Loops)
	rooms := (cfg.Clients + cfg.RoomSize - 1) / cfg.RoomSize
	for i := 0; i < n; i++ {
		l, err := newLoop(w, i)
		if err != nil {
			w.stop()
			return nil, err
		}
		r0, r1 := rooms*i/n, rooms*(i+1)/n
		c0, c1 := r0*cfg.RoomSize, min(cfg.Clients, r1*cfg.RoomSize)
		l.first = c0
		for j := 0; j < c1-c0; j++ {
			g := cfg.First + c0 + j
			l.clients = append(l.clients, &client{fd: -1, idx: j, src: g, node: uint8(layout.NodeOf(g, cfg.RoomSize, len(w.dsts)))})
		}
		w.loops = append(w.loops, l)
	}
	for _, l := range w.loops {
		go l.run()
	}
	return w, nil
}

// stop closes every connection and ends the pollers.
func (w *worker) stop() {
	results := make(chan pollerResult, len(w.loops))
	for _, l := range w.loops {
		l.submit(&task{cmd: ipc.Command{Op: "exit"}, result: results})
	}
	timeout := time.After(10 * time.Second)
	for range w.loops {
		select {
		case <-results:
		case <-timeout:
			return
		}
	}
}

// do runs one step on every poller and merges their reports.
func (w *worker) do(cmd ipc.Command) ipc.Report {
	results := make(chan pollerResult, len(w.loops))
	var cpu <-chan int64
	if cmd.Op == "relay" || cmd.Op == "churn" {
		cpu = selfCPUInWindow(cmd.MeasureStart, cmd.MeasureEnd)
	}
	total := max(1, w.cfg.Clients)
	for i, l := range w.loops {
		c := cmd
		share := float64(len(l.clients)) / float64(total)
		switch cmd.Op {
		case "relay":
			c.Rate = cmd.Rate * share
			c.Window = max(1, int(float64(cmd.Window)*share+0.5))
		case "churn":
			c.Pairs = cmd.Pairs / len(w.loops)
			if i < cmd.Pairs%len(w.loops) {
				c.Pairs++
			}
		}
		l.submit(&task{cmd: c, result: results})
	}
	// Each poller keeps its own deadline; this one only guards against a
	// poller that stopped answering altogether.
	limit := time.Duration(cmd.TimeoutNs) + time.Duration(cmd.DrainNs) + 30*time.Second
	if cmd.MeasureEnd > 0 {
		limit += time.Until(time.Unix(0, cmd.MeasureEnd))
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	var rep ipc.Report
	for range w.loops {
		select {
		case r := <-results:
			rep.Merge(r.rep)
		case <-timer.C:
			rep.Err = fmt.Sprintf("a loop did not finish %s within %v", cmd.Op, limit)
			return rep
		}
	}
	rep.Op = cmd.Op
	if cpu != nil {
		select {
		case rep.CPUNs = <-cpu:
		case <-time.After(5 * time.Second):
		}
	}
	return rep
}

// selfCPUInWindow measures this process's CPU time between two instants.
func selfCPUInWindow(start, end int64) <-chan int64 {
	ch := make(chan int64, 1)
	go func() {
		time.Sleep(time.Until(time.Unix(0, start)))
		a := selfCPU()
		time.Sleep(time.Until(time.Unix(0, end)))
		ch <- selfCPU() - a
	}()
	return ch
}

func selfCPU() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
