package registry

import "github.com/redrtc/redrtc/proto"

// Handover is a resumable session one node of a cluster hands to another,
// where its client resumes it (docs/cluster.md, "Drain"): everything the
// session is besides its seat, which the cluster's bucket moves.
type Handover struct {
	ID   proto.ClientID
	Room string
	// Seq is the last event sent to the session; Frames are the events it
	// has not acknowledged, Base+1 to Seq, whole WebSocket frames with
	// their seq, oldest first (fewer when its buffer dropped the oldest).
	Seq, Base uint64
	Frames    [][]byte
}
