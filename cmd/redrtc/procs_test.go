package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/redrtc/redrtc/internal/testkit"
)

func TestEventLoopsGetOneSpareSchedulerP(t *testing.T) {
	withoutGOMAXPROCS := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") {
			withoutGOMAXPROCS = append(withoutGOMAXPROCS, kv)
		}
	}
	tests := []struct {
		name       string
		gomaxprocs string // "" leaves it unset
		wantLoops  int    // 0: the runtime's default (CPUs or a cgroup's limit), not known here under -cpu
		spare      int
	}{
		{"GOMAXPROCS unset: one loop per P, plus a spare P", "", 0, 1},
		{"GOMAXPROCS=3 decides both", "3", 3, 0},
		{"GOMAXPROCS=1 decides both", "1", 1, 0},
		{"GOMAXPROCS=abc, which the runtime ignores, is ignored", "abc", 0, 1},
		{"GOMAXPROCS=0, which the runtime ignores, is ignored", "0", 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := withoutGOMAXPROCS
			if tc.gomaxprocs != "" {
				env = append(env[:len(env):len(env)], "GOMAXPROCS="+tc.gomaxprocs)
			}
			p := startBinaryEnv(t, env, "-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t)))
			testkit.CheckFor(t, waitTimeout, pollEvery, untilExit(p.exited, logged(p, "listening")))
			var listening struct{ Loops, Procs int }
			if err := json.Unmarshal([]byte(findLog(p.stderr.String(), "listening")), &listening); err != nil {
				t.Fatalf("listening line: %v", err)
			}
			if tc.wantLoops != 0 && listening.Loops != tc.wantLoops {
				t.Errorf("%d event loops, want %d", listening.Loops, tc.wantLoops)
			}
			if listening.Loops < 1 || listening.Procs != listening.Loops+tc.spare {
				t.Errorf("%d event loops on %d Ps, want %d more Ps than loops", listening.Loops, listening.Procs, tc.spare)
			}
		})
	}
}
