// Package layout is where the clients of a cluster bench go: which node
// each one connects to, as a round-robin load balancer in front of the
// nodes would send them, and which pairs of room-mates are on one node and
// which on two. The workers and the coordinator both use it, so that they
// agree without telling each other.
package layout

import "fmt"

// NodeOf is the node (0 to nodes-1) that client g, the g-th client in
// connection order, reaches through a round-robin balancer over nodes.
// Rooms are consecutive clients (room g/roomSize), so with 2 to roomSize
// nodes every room of roomSize has members on several nodes.
func NodeOf(g, nodes int) int {
	if nodes <= 1 || g < 0 {
		return 0
	}
	return g % nodes
}

// PairSet selects which sender→target pairs of room-mates send in a relay
// measurement.
type PairSet uint8

const (
	// AllPairs: every room-mate (the single-server bench).
	AllPairs PairSet = iota
	// SameNode: only room-mates connected to the sender's node.
	SameNode
	// CrossNode: only room-mates connected to another node.
	CrossNode
)

// String is the name ParsePairSet reads, and the results show.
func (p PairSet) String() string {
	switch p {
	case SameNode:
		return "same-node"
	case CrossNode:
		return "cross-node"
	}
	return "all"
}

// ParsePairSet reads a PairSet's name; "" is AllPairs.
func ParsePairSet(s string) (PairSet, error) {
	switch s {
	case "", "all":
		return AllPairs, nil
	case "same-node":
		return SameNode, nil
	case "cross-node":
		return CrossNode, nil
	}
	return AllPairs, fmt.Errorf("unknown pair set %q (all, same-node, cross-node)", s)
}

// Includes reports whether a sender on node a and a target on node b are a
// pair of the set.
func (p PairSet) Includes(a, b int) bool {
	switch p {
	case SameNode:
		return a == b
	case CrossNode:
		return a != b
	}
	return true
}

// Targets appends to dst the positions, in order, of the room-mates that
// the member at pos sends to under set, nodes[i] being the node of the
// member at position i. Under AllPairs that is every other member, which
// is the order the single-server relay has always cycled through.
func Targets(dst []uint8, nodes []int, pos int, set PairSet) []uint8 {
	for i, n := range nodes {
		if i != pos && set.Includes(nodes[pos], n) {
			dst = append(dst, uint8(i))
		}
	}
	return dst
}

// RoomNodes is the node of each member of room ri, rooms being
// consecutive runs of roomSize among clients clients (the last one may be
// short).
func RoomNodes(ri, roomSize, clients, nodes int) []int {
	var out []int
	for g := ri * roomSize; g < min(clients, (ri+1)*roomSize); g++ {
		out = append(out, NodeOf(g, nodes))
	}
	return out
}

// PairCounts counts the ordered sender→target pairs of room-mates among
// clients clients in rooms of roomSize over nodes: on one node, and on two.
func PairCounts(clients, roomSize, nodes int) (same, cross int) {
	rooms := (clients + roomSize - 1) / roomSize
	for ri := 0; ri < rooms; ri++ {
		ns := RoomNodes(ri, roomSize, clients, nodes)
		for pos := range ns {
			s := len(Targets(nil, ns, pos, SameNode))
			same += s
			cross += len(ns) - 1 - s
		}
	}
	return same, cross
}
