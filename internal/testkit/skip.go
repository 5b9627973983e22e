package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SkipLogEnv names the variable that `make test` sets to a file where tests
// skipped for want of a tool list themselves: go test shows a passing
// package's skips only under -v, so make prints the file at the end.
const SkipLogEnv = "REDRTC_SKIP_LOG"

// RequireTool returns the path of the first of candidates that exists (a
// name looked up on PATH, or an absolute path). When none does, it skips t,
// saying which tool is missing and how to get it (install, for example
// "apt-get install nginx-light"), and records the skip in $REDRTC_SKIP_LOG.
func RequireTool(t testing.TB, install string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if path, err := exec.LookPath(c); err == nil {
			return path
		}
	}
	why := fmt.Sprintf("%s not found; %s", candidates[0], install)
	if err := recordSkip(t.Name(), why); err != nil {
		t.Errorf("recording the skip in $%s: %v", SkipLogEnv, err)
	}
	t.Skip(why)
	return ""
}

// recordSkip appends a line for the skipped test to $REDRTC_SKIP_LOG, if it
// is set. Test binaries run in parallel: each line is one append-mode
// write, so lines do not interleave.
func recordSkip(test, why string) error {
	log := os.Getenv(SkipLogEnv)
	if log == "" {
		return nil
	}
	line := fmt.Sprintf("SKIPPED (missing tool): %s in %s — %s\n", test, packageDir(), why)
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// packageDir is the directory of the package under test (go test runs its
// binary there) relative to the module's root, as go test takes it: ./loop.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "?"
	}
	for root := wd; ; root = filepath.Dir(root) {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			rel, err := filepath.Rel(root, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel)
		}
		if filepath.Dir(root) == root {
			return wd
		}
	}
}

// SkipWithout skips t for want of something the machine cannot do (a
// network namespace without root, say), saying why and what would help,
// and records the skip in $REDRTC_SKIP_LOG as RequireTool does.
func SkipWithout(t testing.TB, why string) {
	t.Helper()
	if err := recordSkip(t.Name(), why); err != nil {
		t.Errorf("recording the skip in $%s: %v", SkipLogEnv, err)
	}
	t.Skip(why)
}
