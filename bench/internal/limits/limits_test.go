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
