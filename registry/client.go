package registry

import (
	"sync/atomic"

	"github.com/redrtc/redrtc/proto"
)

// Client is a connected client as the registry sees it.
type Client struct {
	ID     proto.ClientID
	Sender Sender
	// room is written only by the client's own event loop, under the room's
	// lock, and read atomically by other loops checking a relay's target.
	room atomic.Pointer[Room]
}

// Room returns the room the client is in, or nil.
func (c *Client) Room() *Room { return c.room.Load() }

// remote is implemented by the Sender of a Client that stands for a member
// on another node of a cluster (package cluster).
type remote interface{ Remote() }

// IsRemote reports whether c stands for a member on another node.
func (c *Client) IsRemote() bool {
	_, ok := c.Sender.(remote)
	return ok
}
