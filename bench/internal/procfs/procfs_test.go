package procfs

import (
	"os"
	"testing"
)

func TestProc(t *testing.T) {
	if _, err := CPUTime(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	kb, err := RSSKB(os.Getpid())
	if err != nil || kb <= 0 {
		t.Fatalf("%d %v", kb, err)
	}
}
