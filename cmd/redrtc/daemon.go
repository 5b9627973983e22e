package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// daemonEnv marks the re-executed child of --daemon; its value is the file
// descriptor on which the child reports whether it started.
const daemonEnv = "REDRTC_DAEMON_READY_FD"

// daemonize re-runs the binary in a new session with no terminal, waits until
// the child reports that it is listening (or why it is not), and returns.
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
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, daemonLog(stderr, devnull)
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "redrtc: daemon: %v\n", err)
		return 1
	}
	w.Close()
	line, _ := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if line = strings.TrimSpace(line); line != "ready" {
		if line == "" {
			line = "the background process exited before it was ready"
		}
		fmt.Fprintf(stderr, "redrtc: daemon: %s\n", line)
		return 1
	}
	fmt.Fprintf(stdout, "redrtc running in the background, pid %d\n", cmd.Process.Pid)
	return 0
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
