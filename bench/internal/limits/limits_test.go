package limits

import (
	"strings"
	"testing"
)

func TestReadLimits(t *testing.T) {
	l, err := Read(4, false)
	if err != nil {
		t.Fatal(err)
	}
	if l.Ceiling <= 0 || l.Ceiling > ProtocolMaxClients || l.CeilingBy == "" || l.WorkerMax <= 0 {
		t.Fatalf("%+v", l)
	}
	if l.ServerMax > 0 && l.Ceiling > l.ServerMax {
		t.Fatalf("ceiling %d above what a server process can hold (%d)", l.Ceiling, l.ServerMax)
	}
}

// TestAnExternalServerIsNotCappedAt65536: the 65,536 cap is the --clients
// limit of the servers this bench starts; -url may name one that takes more.
func TestAnExternalServerIsNotCappedAt65536(t *testing.T) {
	l, err := Read(4, true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(l.CeilingBy, "--clients") {
		t.Fatalf("an external server's ceiling is set by %q", l.CeilingBy)
	}
}

// TestAClusterHoldsEachNodesShare: N nodes hold N times one process's
// clients, up to the other limits and the 65,536 of --clients.
func TestAClusterHoldsEachNodesShare(t *testing.T) {
	one, err := Read(4, false)
	if err != nil {
		t.Fatal(err)
	}
	four, err := ReadCluster(4, 4)
	if err != nil {
		t.Fatal(err)
	}
	if four.Ceiling < one.Ceiling || four.Ceiling > ProtocolMaxClients || four.Ceiling > 4*four.ServerMax {
		t.Fatalf("one process: ceiling %d; four nodes: %d (each holds %d)", one.Ceiling, four.Ceiling, four.ServerMax)
	}
	if four.ServerMax != one.ServerMax {
		t.Fatalf("a node holds %d, a lone server %d", four.ServerMax, one.ServerMax)
	}
}
