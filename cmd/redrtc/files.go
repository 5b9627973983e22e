package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// absoluteFiles makes --log-file and --pid-file absolute, so that they name
// the same files in a --daemon child, which runs in /.
func (o *options) absoluteFiles() error {
	for _, f := range []struct {
		flag string
		path *string
	}{{"log-file", &o.logFile}, {"pid-file", &o.pidFile}} {
		if *f.path == "" {
			continue
		}
		abs, err := filepath.Abs(*f.path)
		if err != nil {
			return fmt.Errorf("--%s %q: %w", f.flag, *f.path, err)
		}
		*f.path = abs
	}
	return nil
}

// fileArgs are the flags that hand a --daemon child the files this process
// resolved, after the command line it was given: the last of a flag wins.
func (o *options) fileArgs() []string {
	var args []string
	if o.logFile != "" {
		args = append(args, "--log-file="+o.logFile)
	}
	if o.pidFile != "" {
		args = append(args, "--pid-file="+o.pidFile)
	}
	return args
}

// logFile is --log-file: the logger writes to it, and SIGHUP reopens it, so
// that logrotate can move it aside and the next line lands in a new file.
// Writes hold the read lock (each is one append-mode write, so concurrent
// ones do not interleave); reopening holds the write lock only to swap the
// file.
type logFile struct {
	path string
	mu   sync.RWMutex
	f    *os.File
}

func openLogFile(path string) (*logFile, error) {
	f, err := openForAppend(path)
	if err != nil {
		return nil, err
	}
	return &logFile{path: path, f: f}, nil
}

func openForAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("--log-file: %w", err)
	}
	return f, nil
}

func (l *logFile) Write(p []byte) (int, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.f.Write(p)
}

// reopen opens the path anew and writes there from now on. When that fails
// (a directory made unwritable), logging goes on into the old file.
func (l *logFile) reopen() error {
	f, err := openForAppend(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	return old.Close()
}

func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// openLogs returns where the logs go, --log-file or stderr, and the log
// file, nil for stderr.
func openLogs(o options, stderr io.Writer) (io.Writer, *logFile, error) {
	if o.logFile == "" {
		return stderr, nil, nil
	}
	lf, err := openLogFile(o.logFile)
	if err != nil {
		return nil, nil, err
	}
	return lf, lf, nil
}

// reopenOnHangup reopens lf on every SIGHUP until the returned function is
// called. Without --log-file (lf nil) SIGHUP keeps its default, ending the
// process, as a terminal's hangup should.
func reopenOnHangup(lf *logFile, log *zerolog.Logger) (stop func()) {
	if lf == nil {
		return func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-hup:
				if err := lf.reopen(); err != nil {
					log.Error().Err(err).Msg("SIGHUP: cannot reopen the log file; still writing to the old one")
					continue
				}
				log.Info().Str("path", lf.path).Msg("log file reopened")
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-finished
	}
}

// pidFile is --pid-file, locked (flock) from start to exit: the lock, not the
// number in the file, says whether the server that wrote it still runs, so
// a file left by a server that was killed, or holding a pid since reused, is
// simply replaced.
type pidFile struct {
	path string
	f    *os.File
}

// errRunning says a live server holds the pid file.
var errRunning = errors.New("redrtc is already running")

// lockPidFile takes the pid file at path, emptied, or fails naming the pid
// of the server that holds it; for "" it takes none and returns nil, whose
// methods do nothing. It retries when the file it locked was removed or
// replaced meanwhile by a server that was exiting.
func lockPidFile(path string) (*pidFile, error) {
	if path == "" {
		return nil, nil
	}
	for range 5 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("--pid-file: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			held, _ := io.ReadAll(io.LimitReader(f, 32))
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, fmt.Errorf("--pid-file %s: %w as pid %s", path, errRunning, strings.TrimSpace(string(held)))
			}
			return nil, fmt.Errorf("--pid-file %s: lock: %w", path, err)
		}
		locked, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 != nil || err2 != nil || !os.SameFile(locked, now) {
			f.Close()
			continue
		}
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("--pid-file %s: %w", path, err)
		}
		return &pidFile{path: path, f: f}, nil
	}
	return nil, fmt.Errorf("--pid-file %s: replaced by another process each time it was locked", path)
}

// write puts this process's pid in the file, once the server listens.
func (p *pidFile) write() error {
	if p == nil {
		return nil
	}
	if _, err := p.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return fmt.Errorf("--pid-file %s: %w", p.path, err)
	}
	return nil
}

// remove deletes the file, if it is still this process's, and lets go of it.
func (p *pidFile) remove() {
	if p == nil {
		return
	}
	if locked, err := p.f.Stat(); err == nil {
		if now, err := os.Stat(p.path); err == nil && os.SameFile(locked, now) {
			_ = os.Remove(p.path)
		}
	}
	_ = p.f.Close()
}
