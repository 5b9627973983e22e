package js

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redrtc/redrtc/internal/testkit"
)

// requireNode returns the path of node, 18 or newer, and its major
// version, or skips.
func requireNode(t *testing.T) (string, int) {
	t.Helper()
	node := testkit.RequireTool(t, "apt-get install nodejs", "node", "nodejs")
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	m := regexp.MustCompile(`^v(\d+)\.`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("node --version printed %q", out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	if major < 18 {
		t.Skipf("node %s is older than 18, which has no test runner", strings.TrimSpace(string(out)))
	}
	return node, major
}

// wsFlags are the node flags that give Node.js its global WebSocket: none
// from 22, where it is built in, and before 20, which has none; there the
// tests use the ws package, a dev dependency (npm ci).
func wsFlags(t *testing.T, major int) []string {
	t.Helper()
	switch {
	case major >= 22:
		return nil
	case major >= 20:
		return []string{"--experimental-websocket"}
	}
	ws, err := filepath.Abs("node_modules/ws/index.js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ws); err != nil {
		testkit.RequireTool(t, "run npm ci in clients/js: Node.js before 20 has no WebSocket, and the tests then use the ws package", ws)
	}
	return nil
}

// run runs a command in dir with a time limit and fails the test, showing
// its output, when it fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// goTool is the go command running these tests, found even when it is not
// on PATH (make sets GO=/usr/local/go/bin/go, say).
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// TestSDKAgainstTheServer runs the SDK's own tests (test/*.test.js, Node's
// test runner, given the files: from Node.js 21 its arguments are globs) against the redrtc binary, built here.
func TestSDKAgainstTheServer(t *testing.T) {
	node, major := requireNode(t)
	files, err := filepath.Glob("test/*.test.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test/*.test.js: %v", err)
	}
	args := append(append(wsFlags(t, major), "--no-warnings", "--test"), files...)
	bin := filepath.Join(t.TempDir(), "redrtc")
	run(t, "../..", nil, goTool(), "build", "-o", bin, "./cmd/redrtc")
	out := run(t, ".", []string{"REDRTC_BIN=" + bin}, node, args...)
	if !strings.Contains(out, "# fail 0") {
		t.Fatalf("node --test did not report 0 failures:\n%s", out)
	}
	t.Log(out[strings.LastIndex(out, "# tests"):])
}

// TestTypeDeclarations type-checks src/index.d.ts and a program written
// against it (test/types/usage.ts) with TypeScript, a dev dependency.
func TestTypeDeclarations(t *testing.T) {
	node, _ := requireNode(t)
	tsc, err := filepath.Abs("node_modules/typescript/bin/tsc")
	if err != nil {
		t.Fatal(err)
	}
	testkit.RequireTool(t, "run npm ci in clients/js (.ci/run does)", tsc)
	run(t, ".", nil, node, tsc, "-p", "test/types")
}

// TestPackInstallsInAFreshProject packs the package as npm publishes it and
// installs the tarball, offline, in a new project that imports it.
func TestPackInstallsInAFreshProject(t *testing.T) {
	node, _ := requireNode(t)
	npm := testkit.RequireTool(t, "apt-get install npm", "npm")
	dir := t.TempDir()
	cache := []string{"npm_config_cache=" + filepath.Join(dir, "npm-cache"), "npm_config_update_notifier=false"}
	name := strings.TrimSpace(run(t, ".", cache, npm, "pack", "--silent", "--pack-destination", dir))
	app := filepath.Join(dir, "app")
	if err := os.Mkdir(app, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "package.json"), []byte(`{"name":"app","private":true,"type":"module"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, app, cache, npm, "install", "--offline", "--no-audit", "--no-fund", filepath.Join(dir, name))
	out := run(t, app, nil, node, "--input-type=module", "-e", `
		import * as sdk from '@redrtc/client';
		import { readFileSync } from 'node:fs';
		const pkg = JSON.parse(readFileSync('node_modules/@redrtc/client/package.json'));
		readFileSync('node_modules/@redrtc/client/' + pkg.types);
		console.log(Object.keys(sdk).sort().join(' '));`)
	if got, want := strings.TrimSpace(out), "MeshCall RedRTCClient RedRTCError SERVER_EVENTS SUBPROTOCOL backoffDelay"; got != want {
		t.Fatalf("the installed package exports %q, want %q", got, want)
	}
}

// TestEmbeddedFilesAreTheSources: what --demo serves is src/ as it is.
func TestEmbeddedFilesAreTheSources(t *testing.T) {
	src, err := os.ReadDir("src")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range src {
		want, err := os.ReadFile(filepath.Join("src", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := fs.ReadFile(FS(), e.Name())
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: embedded copy differs or is missing (%v)", e.Name(), err)
		}
	}
}
