package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// daemonEnv marks the re-executed child of --daemon; its value is the file
// descriptor on which the child reports whether it started.
const daemonEnv = "REDRTC_DAEMON_READY_FD"

// daemonize re-runs the binary in a new session with no terminal, in /,
// holding none of the caller's files but the log file it may be given; waits
// until the child reports that it is listening (or why it is not); and
// returns.
func daemonize(args []string, stdout, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "redrtc: daemon: %v\n", err)
		return 1
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "redrtc: daemon: %v\n", err)
		return 1
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(stderr, "redrtc: daemon: %v\n", err)
		return 1
	}
	defer devnull.Close()
	if err := closeInheritedOnExec(); err != nil {
		fmt.Fprintf(stderr, "redrtc: daemon: %v\n", err)
		return 1
	}
	// Until the child is ready, an interrupt is for both processes: the
	// child is in its own session, out of reach of the terminal's Ctrl-C.
	// One that comes later is ignored; this process is about to exit 0.
	// A signal the caller ignores (nohup's SIGHUP) stays ignored: Notify
	// would undo that, here and, through exec, in the daemon.
	interrupted := make(chan os.Signal, 1)
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		if !signal.Ignored(sig) {
			signal.Notify(interrupted, sig)
		}
	}

	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	// No flag names a file, so / costs nothing and keeps the daemon from
	// pinning the directory it was started in (an unmountable disk).
	cmd.Dir = "/"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, daemonLog(stderr, devnull)
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "redrtc: daemon: %v\n", err)
		return 1
	}
	w.Close()
	reported := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		reported <- strings.TrimSpace(line)
	}()
	var line string
	select {
	case line = <-reported:
	case s := <-interrupted:
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		fmt.Fprintf(stderr, "redrtc: daemon: %v before the background process was ready; stopped it\n", s)
		return 1
	}
	if line != "ready" {
		if line == "" {
			line = "the background process exited before it was ready"
		}
		fmt.Fprintf(stderr, "redrtc: daemon: %s\n", line)
		return 1
	}
	fmt.Fprintf(stdout, "redrtc running in the background, pid %d\n", cmd.Process.Pid)
	return 0
}

// closeInheritedOnExec marks every descriptor above stderr close-on-exec.
// Go opens its own that way, but not the ones this process inherited: a
// pipe its caller left open (make's jobserver, a script's $(...)) would stay
// open in the daemon for as long as it runs, and whoever reads that pipe
// would wait as long.
func closeInheritedOnExec() error {
	dir := "/proc/self/fd"
	if _, err := os.Stat(dir); err != nil {
		dir = "/dev/fd" // the BSDs and macOS
	}
	fds, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list open files: %w", err)
	}
	for _, e := range fds {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
	return nil
}

// daemonLog is where the daemon's logs go: the caller's stderr when that is
// a regular file (redrtc -d 2>>/var/log/redrtc.log), else nowhere. The
// daemon leaves the terminal behind, and a pipe it held open would keep
// whoever reads the pipe waiting until the daemon exits.
func daemonLog(stderr io.Writer, devnull *os.File) *os.File {
	if f, ok := stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return f
		}
	}
	return devnull
}

// notifyParent tells a waiting --daemon parent whether the server started.
func notifyParent(startErr error) {
	if os.Getenv(daemonEnv) != "3" {
		return
	}
	f := os.NewFile(3, "daemon-ready")
	if startErr != nil {
		fmt.Fprintf(f, "%v\n", startErr)
	} else {
		fmt.Fprintln(f, "ready")
	}
	f.Close()
	os.Unsetenv(daemonEnv)
}
