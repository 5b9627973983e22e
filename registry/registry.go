// Package registry holds RedRTC's client and room tables: lock-sharded maps
// with atomic admission, knowing clients and rooms but never sockets.
package registry

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Admission errors. The loop turns each into its protocol error code.
var (
	ErrServerFull = errors.New("client limit reached")
	ErrRoomLimit  = errors.New("room limit reached")
	ErrRoomFull   = errors.New("room is full")
	ErrDuplicate  = errors.New("client id already registered")
)

// cacheLine is the size of a CPU cache line on this architecture, as
// golang.org/x/sys/cpu pads to it.
const cacheLine = unsafe.Sizeof(cpu.CacheLinePad{})

// RoomCapacity is the most members a room holds.
const RoomCapacity = 6

// Sender delivers an encoded message to one client. Send is called with a
// room lock held, so it must not block and must not call back into the
// registry; it must copy msg if it keeps it.
type Sender interface {
	Send(msg []byte)
}
