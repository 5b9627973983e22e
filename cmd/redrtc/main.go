// Command redrtc is the RedRTC WebRTC signaling server.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/redrtc/redrtc/internal/debugserve"
	"github.com/redrtc/redrtc/loop"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole program; it returns the exit status: 0, 1 for a runtime
// failure, 2 for a bad command line.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "token" {
		return runToken(args[1:], stdout, stderr)
	}
	opts, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, errHelp):
		printUsage(stdout)
		printEnvironment(stdout, opts.flags)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "redrtc: %v\nTry 'redrtc --help'.\n", err)
		return 2
	}
	if opts.version {
		fmt.Fprintln(stdout, versionLine())
		return 0
	}
	if err := opts.env.blame(opts.cfg.Validate()); err != nil {
		fmt.Fprintf(stderr, "redrtc: %v\nTry 'redrtc --help'.\n", err)
		return 2
	}
	if opts.daemon && os.Getenv(daemonEnv) == "" {
		return daemonize(append(args, opts.fileArgs()...), stdout, stderr)
	}

	logOut, logFile, err := openLogs(opts, stderr)
	if err = opts.env.blame(err); err != nil {
		fmt.Fprintf(stderr, "redrtc: %v\n", err)
		notifyParent(err)
		return 1
	}
	if logFile != nil {
		defer logFile.Close()
	}
	log := newLogger(logOut, opts.verbose)
	logStarting(&log)
	defer reopenOnHangup(logFile, &log)()
	opts.cfg.Logger = &log
	pid, err := lockPidFile(opts.pidFile)
	if err = opts.env.blame(err); err != nil {
		log.Error().Err(err).Msg("cannot start")
		notifyParent(err)
		return 1
	}
	defer pid.remove()
	reserveSpareProc(&opts.cfg, os.Getenv)
	debug, err := debugserve.ForFlag(opts.debugAddr)
	if err != nil {
		log.Error().Err(err).Msg("cannot start")
		notifyParent(err)
		return 1
	}
	defer func() {
		if err := debug.Close(); err != nil {
			log.Error().Err(err).Msg("debug listener")
		}
	}()
	if debug != nil {
		log.Info().Stringer("addr", debug.Addr()).Msg("serving Go's profiler at /debug/pprof/; keep this address private")
	}
	if err := enableDemo(&opts.cfg, opts.demo); err != nil {
		log.Error().Err(err).Msg("cannot start")
		notifyParent(err)
		return 1
	}
	adm, err := startAdmin(opts.admin, log)
	if err != nil {
		log.Error().Err(err).Msg("cannot start")
		notifyParent(err)
		return 1
	}
	defer adm.close(log)
	node, err := joinCluster(&opts, &log)
	if err != nil {
		log.Error().Err(err).Msg("cannot start")
		notifyParent(err)
		return 1
	}
	defer leaveCluster(node, &log)
	srv, err := loop.Start(opts.cfg)
	if err != nil {
		log.Error().Err(err).Msg("cannot start")
		notifyParent(err)
		return 1
	}
	if err := attachCluster(node, srv); err != nil {
		log.Error().Err(err).Msg("cannot start")
		_ = srv.Stop(context.Background())
		notifyParent(err)
		return 1
	}
	if err := pid.write(); err != nil {
		log.Error().Err(err).Msg("cannot start")
		_ = srv.Stop(context.Background())
		notifyParent(err)
		return 1
	}
	adm.serving(srv, node)
	// Signals are caught before a --daemon parent is told the server is
	// ready: its caller may send SIGTERM the moment the parent returns,
	// and that must be a graceful stop, not the default's sudden death.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	notifyParent(nil)
	announceDemo(&log, opts.demo, srv.Addr())

	var stopping time.Time
	select {
	case s := <-sig:
		log.Info().Stringer("signal", s).Msg("shutting down")
		stopping = time.Now()
	case <-srv.Drained():
		log.Info().Msg("drained: every client is gone; shutting down")
		stopping = time.Now()
	case <-srv.Done():
		log.Error().Msg("server stopped unexpectedly")
		return 1
	}
	adm.stopping()
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop(ctx) }()
	// Whoever sends a second signal will not wait up to stopTimeout for the
	// clients' goodbyes: exit now, as servers conventionally do.
	select {
	case err := <-stopped:
		if err != nil {
			log.Error().Err(err).Msg("shutdown")
			return 1
		}
		logStopped(&log, stopping)
		return 0
	case s := <-sig:
		log.Warn().Stringer("signal", s).Msg("second signal: exiting without waiting for clients")
		return 1
	}
}

// stopTimeout bounds a graceful shutdown: the close frames of clients slow
// to read (up to 5 s) and their replies (up to 2 s more).
const stopTimeout = 10 * time.Second

// newLogger logs for people on a terminal and as JSON lines otherwise.
func newLogger(w io.Writer, verbose bool) zerolog.Logger {
	level := zerolog.InfoLevel
	if verbose {
		level = zerolog.DebugLevel
	}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.DateTime}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}
