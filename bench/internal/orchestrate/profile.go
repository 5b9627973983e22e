package orchestrate

// With -profile, every server the bench starts that has a --debug-addr flag
// (RedRTC, the baseline and the floor each have one) runs with Go's profiler
// on a loopback port of its own, and the bench takes, during the run, the
// profiles issue 4 asks a missed target to be explained with:
//
//   - heap: once the idle clients have joined and the joined RSS has been
//     read, after a collection, so that it shows what holds their memory
//     (the idle scenario's servers sample allocations finely, heapEnv);
//   - CPU: over the measured window of every relay run and every churn run.
//
// Each goes to its own file under <stamp>-profiles/ beside the results, for
// go tool pprof.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/redrtc/redrtc/bench/internal/target"
	"github.com/redrtc/redrtc/internal/debugserve"
)

// profiler fetches and saves profiles. A nil *profiler takes none, so the
// runner calls it whether -profile was given or not.
type profiler struct {
	dir  string
	logf func(format string, args ...any)

	mu    sync.Mutex
	taken map[string]int // how many files each name has had
	files []string       // saved, relative to dir's parent
	errs  []string       // profiles that could not be taken
}

func newProfiler(dir string, logf func(string, ...any)) *profiler {
	return &profiler{dir: dir, logf: logf, taken: map[string]int{}}
}

// fileName returns a name for a profile of what base describes that no
// earlier profile of this run has: with -repeat, the second relay run at
// 5,000 clients is redrtc-relay-5000-max-2.cpu.pb.gz.
func (pr *profiler) fileName(base, kind string) string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.taken[base+kind]++
	if k := pr.taken[base+kind]; k > 1 {
		base = fmt.Sprintf("%s-%d", base, k)
	}
	return base + "." + kind + ".pb.gz"
}

// profileBase names a profile by server, scenario and the rest of what it
// measured.
func profileBase(p *target.Process, scenario string, rest ...any) string {
	parts := []string{strings.ToLower(p.Server.Name), scenario}
	for _, r := range rest {
		parts = append(parts, fmt.Sprint(r))
	}
	return strings.Join(parts, "-")
}

// heapEnv is the environment of a server whose heap will be profiled: it
// samples allocations finely enough for a few thousand clients' memory to
// show. The servers of relay and churn keep Go's sampling, a hundred times
// coarser, as its stack walks would cost the baseline, which allocates on
// every message, CPU that the bench measures.
// A GODEBUG already in the bench's environment is kept, with
// memprofilerate added to it.
func (pr *profiler) heapEnv(k *target.Server) []string {
	if pr == nil || !k.Profiled {
		return nil
	}
	fine := debugserve.FineHeapProfiles
	if prev := os.Getenv("GODEBUG"); prev != "" {
		fine += "," + prev
	}
	return []string{fine}
}

// heap takes a heap profile of p now, after a collection (gc=1), so that it
// counts live memory only.
func (pr *profiler) heap(ctx context.Context, p *target.Process, base string) {
	if pr == nil || p.DebugHost == "" {
		return
	}
	pr.fetch(ctx, p, "heap?gc=1", pr.fileName(base, "heap"), 30*time.Second)
}

// errRunFailed is why a CPU profile is abandoned: the run it covers failed,
// and nothing is worth waiting out the rest of its window for.
var errRunFailed = errors.New("abandoned: the run it covers failed")

// cpu takes a CPU profile of p from start for d, rounded up to whole
// seconds (the profiler's unit), in the background. wait(false) returns once
// it is saved or has failed; wait(true), for a run that failed, abandons it
// at once (Go's profiler stops when its client goes) and records why.
func (pr *profiler) cpu(ctx context.Context, p *target.Process, base string, start time.Time, d time.Duration) (wait func(abandon bool)) {
	if pr == nil || p.DebugHost == "" {
		return func(bool) {}
	}
	secs := max(1, int(math.Ceil(d.Seconds())))
	name := pr.fileName(base, "cpu")
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-time.After(time.Until(start)):
		case <-ctx.Done():
			pr.failed(name, context.Cause(ctx))
			return
		}
		pr.fetch(ctx, p, fmt.Sprintf("profile?seconds=%d", secs), name, time.Duration(secs)*time.Second+30*time.Second)
	}()
	return func(abandon bool) {
		if abandon {
			cancel(errRunFailed)
		}
		<-done
		cancel(nil)
	}
}

// fetch saves what p's /debug/pprof/<query> answers as name.
func (pr *profiler) fetch(ctx context.Context, p *target.Process, query, name string, timeout time.Duration) {
	if err := pr.save(ctx, "http://"+p.DebugHost+"/debug/pprof/"+query, name, timeout); err != nil {
		if cause := context.Cause(ctx); cause != nil {
			err = cause
		}
		pr.failed(name, err)
		return
	}
	pr.mu.Lock()
	pr.files = append(pr.files, filepath.Join(filepath.Base(pr.dir), name))
	pr.mu.Unlock()
}

// failed records a profile that was not taken, and why.
func (pr *profiler) failed(name string, err error) {
	msg := fmt.Sprintf("profile %s not taken: %v", name, err)
	pr.logf("  %s", msg)
	pr.mu.Lock()
	pr.errs = append(pr.errs, msg)
	pr.mu.Unlock()
}

func (pr *profiler) save(ctx context.Context, url, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	if err := os.MkdirAll(pr.dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(pr.dir, name))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// saved returns the files written and the profiles that failed.
func (pr *profiler) saved() (files, errs []string) {
	if pr == nil {
		return nil, nil
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return append([]string(nil), pr.files...), append([]string(nil), pr.errs...)
}
