package orchestrate

// The coordinator's side of the worker processes.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/redrtc/redrtc/bench/internal/ipc"
	"github.com/redrtc/redrtc/bench/internal/loadclient"
)

// workerProc is one worker process.
type workerProc struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	replies chan ipc.Report
	done    chan struct{}
	setup   ipc.Command
}

// pool is the worker processes of one measurement.
type pool struct {
	workers []*workerProc
	clients int
}

// plan splits n clients in rooms of roomSize over as few worker processes as
// the per-process limit allows, whole rooms each.
func planWorkers(n, roomSize, perWorker, minWorkers int) [][2]int {
	perWorker = max(roomSize, perWorker-perWorker%roomSize-roomSize)
	w := max(minWorkers, (n+perWorker-1)/perWorker, 1)
	rooms := (n + roomSize - 1) / roomSize
	w = min(w, max(1, rooms))
	var out [][2]int
	for i := 0; i < w; i++ {
		r0, r1 := rooms*i/w, rooms*(i+1)/w
		first, last := r0*roomSize, min(n, r1*roomSize)
		out = append(out, [2]int{first, last - first})
	}
	return out
}

// startPool starts one worker per share and sets each up.
func startPool(ctx context.Context, base ipc.Command, shares [][2]int) (*pool, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := &pool{}
	for _, sh := range shares {
		cmd := exec.Command(exe, loadclient.WorkerFlag)
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		in, err := cmd.StdinPipe()
		if err != nil {
			p.stop()
			return nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			p.stop()
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			p.stop()
			return nil, fmt.Errorf("start worker: %w", err)
		}
		w := &workerProc{cmd: cmd, in: in, replies: make(chan ipc.Report, 4), done: make(chan struct{})}
		go func() {
			defer close(w.done)
			dec := json.NewDecoder(bufio.NewReaderSize(out, 1<<20))
			for {
				var r ipc.Report
				if err := dec.Decode(&r); err != nil {
					_ = cmd.Wait()
					return
				}
				select {
				case w.replies <- r:
				default: // an unsolicited reply (exit's) is dropped
				}
			}
		}()
		setup := base
		setup.Op = "setup"
		setup.First, setup.Clients = sh[0], sh[1]
		w.setup = setup
		p.workers = append(p.workers, w)
		p.clients += sh[1]
	}
	reps, err := p.each(ctx, func(w *workerProc) ipc.Command { return w.setup }, 30*time.Second)
	if err != nil {
		p.stop()
		return nil, err
	}
	for _, r := range reps {
		if r.Err != "" {
			p.stop()
			return nil, fmt.Errorf("worker setup: %s", r.Err)
		}
	}
	return p, nil
}

// each sends every worker its command and collects the replies; a worker
// that does not answer within timeout is killed.
func (p *pool) each(ctx context.Context, cmdFor func(w *workerProc) ipc.Command, timeout time.Duration) ([]ipc.Report, error) {
	reps := make([]ipc.Report, len(p.workers))
	errs := make([]error, len(p.workers))
	var wg sync.WaitGroup
	for i, w := range p.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := cmdFor(w)
			b, _ := json.Marshal(cmd)
			if _, err := w.in.Write(append(b, '\n')); err != nil {
				errs[i] = fmt.Errorf("worker %d: %w", i, err)
				return
			}
			timer := time.NewTimer(timeout)
			defer timer.Stop()
			select {
			case r := <-w.replies:
				reps[i] = r
			case <-w.done:
				errs[i] = fmt.Errorf("worker %d exited during %s", i, cmd.Op)
			case <-timer.C:
				_ = w.cmd.Process.Kill()
				errs[i] = fmt.Errorf("worker %d did not finish %s within %v", i, cmd.Op, timeout)
			case <-ctx.Done():
				_ = w.cmd.Process.Kill()
				errs[i] = fmt.Errorf("worker %d: %s: %w", i, cmd.Op, ctx.Err())
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return reps, err
		}
	}
	return reps, nil
}

// all runs cmd on every worker and merges the reports.
func (p *pool) all(ctx context.Context, cmd ipc.Command, timeout time.Duration) (ipc.Report, error) {
	reps, err := p.each(ctx, func(*workerProc) ipc.Command { return cmd }, timeout)
	var merged ipc.Report
	for _, r := range reps {
		merged.Merge(r)
	}
	merged.Op = cmd.Op
	if err == nil && merged.Err != "" {
		err = fmt.Errorf("%s: %s", cmd.Op, merged.Err)
	}
	return merged, err
}

// stop asks the workers to exit and kills those that do not.
func (p *pool) stop() {
	for _, w := range p.workers {
		b, _ := json.Marshal(ipc.Command{Op: "exit"})
		_, _ = w.in.Write(append(b, '\n'))
		_ = w.in.Close()
	}
	for _, w := range p.workers {
		select {
		case <-w.done:
		case <-time.After(15 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	}
}
