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
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	before, err := OpenFiles(os.Getpid())
	f.Close()
	after, err2 := OpenFiles(os.Getpid())
	if err != nil || err2 != nil || before != after+1 {
		t.Fatalf("open files: %d with one more open, %d without (%v, %v)", before, after, err, err2)
	}
}
