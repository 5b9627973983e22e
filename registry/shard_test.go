package registry

import (
	"testing"
	"unsafe"
)

// A shard that does not fill whole cache lines puts its lock on a line it
// shares with a neighbour's, and loops locking the two contend for it.
func TestShardsFillWholeCacheLines(t *testing.T) {
	sizes := map[string]uintptr{
		"clientShard": unsafe.Sizeof(clientShard{}),
		"roomShard":   unsafe.Sizeof(roomShard{}),
	}
	for name, size := range sizes {
		if size < cacheLine || size%cacheLine != 0 {
			t.Errorf("%s is %d bytes, want a non-zero multiple of the %d-byte cache line", name, size, cacheLine)
		}
	}
}
