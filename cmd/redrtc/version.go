package main

import (
	"fmt"
	"runtime/debug"
)

// version is RedRTC's semantic version (https://semver.org): a release bumps
// it in the commit it is tagged on (vX.Y.Z), and --version and the logs show
// it with the commit beside it.
const version = "0.1.0"

// commit is the commit built, stamped by the Makefile with -ldflags -X; a
// plain go build reads it from the build information Go records in the
// binary (commitFromBuild).
var commit = ""

// versionLine is what --version prints:
// "redrtc 0.1.0 (commit 4cffe40, go1.26.0 linux/amd64)".
func versionLine() string {
	return fmt.Sprintf("redrtc %s (commit %s, %s)", version, builtCommit(), goVersion())
}

// builtCommit is the stamped commit, else the one go build recorded (short,
// and "-dirty" with uncommitted changes), else "unknown".
func builtCommit() string {
	if commit != "" {
		return commit
	}
	return commitFromBuild(debug.ReadBuildInfo())
}

func commitFromBuild(info *debug.BuildInfo, ok bool) string {
	if !ok {
		return "unknown"
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	rev = rev[:min(len(rev), 7)]
	if dirty {
		rev += "-dirty"
	}
	return rev
}
