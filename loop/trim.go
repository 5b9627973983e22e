package loop

import (
	"runtime/debug"
	"sync/atomic"
)

// memoryTrimmer hands memory back to the operating system after a burst of
// connects, joins or disconnects, or of resume buffers emptied by acks. The relay path allocates nothing (but for a
// small task per batch when it wakes another loop), so an idle or relaying
// server seldom runs the garbage collector, and the garbage
// a storm of handshakes leaves — and the memory freed when clients leave —
// would otherwise stay in the process's RSS. Its fields are owned by the
// ticker goroutine, which calls tick.
type memoryTrimmer struct {
	lastClients, lastRooms int
	// changed counts clients and rooms that came or went since the last trim.
	changed int
	// size is the clients and rooms present at the last trim.
	size    int
	running atomic.Bool
}

// minTrimChange is the smallest burst worth a full collection.
const minTrimChange = 256

// tick looks at the current counts; on the first quiet tick after a burst of
// at least minTrimChange (or an eighth of the size), it starts a collection
// that returns free memory to the OS, never two at once.
func (m *memoryTrimmer) tick(clients, rooms int, freed int64) {
	// freed counts resume buffers left to the collector since the last
	// tick (retained.go): acks after a burst of joins free one per client.
	delta := abs(clients-m.lastClients) + abs(rooms-m.lastRooms) + int(freed)
	m.lastClients, m.lastRooms = clients, rooms
	if delta > 0 {
		m.changed += delta
		return // still busy: wait for a quiet tick
	}
	if m.changed < max(minTrimChange, m.size/8) || !m.running.CompareAndSwap(false, true) {
		return
	}
	m.changed, m.size = 0, clients+rooms
	go func() {
		defer m.running.Store(false)
		debug.FreeOSMemory()
	}()
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
