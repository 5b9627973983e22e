package orchestrate

// The command line of a cluster run (-cluster N): what it defaults to, and
// what does not go with it.

import (
	"fmt"
	"strings"
	"time"
)

// maxClusterNodes bounds -cluster: the workers address a node in a byte,
// and every node is a process of this machine.
const maxClusterNodes = 64

// clusterDefaults checks and completes f for a cluster run: RedRTC only,
// idle and relay at -n, one run each, and a deadline that fits 65,536
// clients connecting and joining twice.
func clusterDefaults(f *flags) error {
	switch {
	case f.cluster < 1 || f.cluster > maxClusterNodes:
		return fmt.Errorf("-cluster must be 1-%d nodes, got %d", maxClusterNodes, f.cluster)
	case f.url != "" || f.compareBin != "":
		return fmt.Errorf("-cluster starts its own RedRTC nodes: it does not go with -url or -compare")
	case f.profile:
		return fmt.Errorf("-cluster does not take profiles; profile a node with its --debug-addr")
	case f.cfg.Repeat > 1:
		return fmt.Errorf("-cluster runs each measurement once; -repeat does not go with it")
	}
	if f.explicitSets["servers"] && strings.ToLower(strings.TrimSpace(f.servers)) != "redrtc" {
		return fmt.Errorf("-cluster measures RedRTC nodes only: -servers redrtc, or leave it out")
	}
	f.servers = "redrtc"
	if !f.explicitSets["scenarios"] {
		f.scenarios = "idle,relay"
	}
	for _, s := range strings.Split(f.scenarios, ",") {
		switch s = strings.TrimSpace(s); s {
		case "idle", "relay", "":
		default:
			return fmt.Errorf("-cluster runs the idle and relay scenarios, not %q", s)
		}
	}
	if !f.explicitSets["levels"] {
		f.levels = "max"
	}
	if !f.explicitSets["deadline"] {
		f.deadline = 20 * time.Minute
	}
	return nil
}
