// Package layout is where the clients of a cluster bench go: which node
// each one connects to, as a round-robin load balancer in front of the
// nodes would spread them, which clients share a room, and which pairs of
// room-mates are on one node and which on two. The workers and the
// coordinator both use it, so that they agree without telling each other.
//
// Clients are numbered so that rooms are consecutive runs of roomSize
// (room g/roomSize), as the workers have always taken them. The balancer
// spreads the clients evenly over the nodes, and the rooms are formed, as
// an application's matchmaker would form them, from the clients of two
// nodes each: room k takes half its members from each node of a pair, the
// pairs taken in turn from a round-robin tournament over the nodes, so
// that every node shares rooms with every other node equally, holds about
// 2/N of the rooms, and gets an equal share of the clients.
package layout

import "fmt"

// Pairs is every pair of distinct nodes among nodes (2 or more), in the
// order of a round-robin tournament (the circle method): nodes-1 rounds
// (nodes rounds when nodes is odd, one node sitting each out), every node
// playing once a round. A prefix of whole rounds thus gives every node the
// same number of rooms. Of each pair, the node that has so far come first
// less often comes first, so that rooms of an odd size, whose first node
// has one member more, load the nodes alike.
func Pairs(nodes int) [][2]int {
	if nodes < 2 {
		return nil
	}
	m := nodes + nodes%2 // with a dummy node m-1 when nodes is odd
	var out [][2]int
	first := make([]int, nodes) // times first less times second
	add := func(a, b int) {
		if a < nodes && b < nodes {
			if first[b] < first[a] {
				a, b = b, a
			}
			first[a]++
			first[b]--
			out = append(out, [2]int{a, b})
		}
	}
	for r := 0; r < m-1; r++ {
		add(m-1, r)
		for i := 1; i < m/2; i++ {
			add((r+i)%(m-1), (r-i+m-1)%(m-1))
		}
	}
	return out
}

// RoomPair is the two nodes of room ri among nodes (2 or more): the
// tournament's pairs in turn, the first of the two giving the room's
// first member, and the order flipped every other time round, so that
// rooms of an odd size load both nodes alike.
func RoomPair(ri, nodes int) [2]int {
	ps := pairsOf(nodes)
	p := ps[ri%len(ps)]
	if (ri/len(ps))%2 == 1 {
		p[0], p[1] = p[1], p[0]
	}
	return p
}

// pairTable holds Pairs for the node counts a bench uses, built once.
var pairTable = func() [][][2]int {
	t := make([][][2]int, 17)
	for n := range t {
		t[n] = Pairs(n)
	}
	return t
}()

func pairsOf(nodes int) [][2]int {
	if nodes < len(pairTable) {
		return pairTable[nodes]
	}
	return Pairs(nodes)
}

// NodeOf is the node (0 to nodes-1) that client g reaches: member
// g%roomSize of room g/roomSize, whose members alternate between the two
// nodes of RoomPair, so a room of 6 has 3 members on each. With one node
// every room is on it; rooms of one go round the nodes in turn.
func NodeOf(g, roomSize, nodes int) int {
	if nodes <= 1 || g < 0 {
		return 0
	}
	if roomSize <= 1 {
		return g % nodes
	}
	return RoomPair(g/roomSize, nodes)[(g%roomSize)%2]
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
		out = append(out, NodeOf(g, roomSize, nodes))
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

// NodeRooms counts, for each of nodes nodes, the rooms among the first
// clients clients (in rooms of roomSize) that have a member on it: what
// the node's --rooms must hold.
func NodeRooms(clients, roomSize, nodes int) []int {
	nodes, roomSize = max(1, nodes), max(1, roomSize)
	out := make([]int, nodes)
	rooms := (max(0, clients) + roomSize - 1) / roomSize
	for ri := 0; ri < rooms; ri++ {
		countRoom(out, ri, roomSize, clients, nodes)
	}
	return out
}

// countRoom adds room ri to the count of every node it has a member on.
func countRoom(count []int, ri, roomSize, clients, nodes int) {
	var on [2]int
	k := 0
	for g := ri * roomSize; g < min(clients, (ri+1)*roomSize) && k < 2; g++ {
		if n := NodeOf(g, roomSize, nodes); k == 0 || on[0] != n {
			on[k] = n
			k++
		}
	}
	for _, n := range on[:k] {
		count[n]++
	}
}

// Joiners is how many of clients clients can be in rooms of roomSize over
// nodes when no node may hold more than maxRooms rooms: the clients of the
// rooms, taken in order, up to the first room that would put a node over.
func Joiners(clients, roomSize, nodes, maxRooms int) int {
	nodes, roomSize = max(1, nodes), max(1, roomSize)
	count := make([]int, nodes)
	rooms := (max(0, clients) + roomSize - 1) / roomSize
	for ri := 0; ri < rooms; ri++ {
		countRoom(count, ri, roomSize, clients, nodes)
		for _, c := range count {
			if c > maxRooms {
				return ri * roomSize
			}
		}
	}
	return max(0, clients)
}
