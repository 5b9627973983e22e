package testkit

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRequireToolReturnsAToolThatIsThere(t *testing.T) {
	if path := RequireTool(t, "apt-get install coreutils", "redrtc-no-such-tool", "ls"); filepath.Base(path) != "ls" {
		t.Fatalf("path %q, want one to ls", path)
	}
}

func TestRequireToolSkipsAndRecordsAMissingTool(t *testing.T) {
	log := filepath.Join(t.TempDir(), "skipped.txt")
	t.Setenv(SkipLogEnv, log)
	var skipped bool
	t.Run("needs a tool", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		RequireTool(t, "apt-get install it", "redrtc-no-such-tool")
		t.Error("RequireTool went on without the tool")
	})
	got, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	want := "SKIPPED (missing tool): TestRequireToolSkipsAndRecordsAMissingTool/needs_a_tool in ./internal/testkit — redrtc-no-such-tool not found; apt-get install it\n"
	if !skipped || string(got) != want {
		t.Fatalf("skipped %v, log %q; want skipped and %q", skipped, got, want)
	}
}
