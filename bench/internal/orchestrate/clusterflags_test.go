package orchestrate

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestClusterFlags(t *testing.T) {
	f, err := parseArgs([]string{"-cluster", "4"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if f.servers != "redrtc" || f.levels != "max" || f.deadline != 20*time.Minute ||
		strings.Join(f.cfg.Scenarios, ",") != "idle,relay" || f.n != 65536 {
		t.Fatalf("defaults: servers %q, levels %q, deadline %v, scenarios %v, n %d", f.servers, f.levels, f.deadline, f.cfg.Scenarios, f.n)
	}
	f, err = parseArgs([]string{"-cluster", "2", "-scenarios", "relay", "-levels", "1200", "-deadline", "1m"}, io.Discard)
	if err != nil || f.levels != "1200" || f.deadline != time.Minute || strings.Join(f.cfg.Scenarios, ",") != "relay" {
		t.Fatalf("explicit flags not kept: %v %+v", err, f)
	}
	for _, bad := range [][]string{
		{"-cluster", "4", "-scenarios", "churn"},
		{"-cluster", "4", "-servers", "baseline"},
		{"-cluster", "4", "-url", "ws://127.0.0.1:8080/"},
		{"-cluster", "4", "-repeat", "3"},
		{"-cluster", "4", "-profile"},
		{"-cluster", "-1"},
		{"-cluster", "65"},
	} {
		if _, err := parseArgs(bad, io.Discard); err == nil {
			t.Errorf("parseArgs(%q) accepted it", bad)
		}
	}
}
