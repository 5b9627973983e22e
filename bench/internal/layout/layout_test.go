package layout

import (
	"slices"
	"testing"
)

// A round-robin balancer sends consecutive clients to consecutive nodes,
// and every node gets its share to within one.
func TestNodeOfIsRoundRobin(t *testing.T) {
	for _, nodes := range []int{1, 2, 3, 4, 7} {
		count := make([]int, nodes)
		for g := 0; g < 65536; g++ {
			n := NodeOf(g, nodes)
			if n < 0 || n >= nodes {
				t.Fatalf("%d nodes: client %d on node %d", nodes, g, n)
			}
			if g > 0 && nodes > 1 && n != (NodeOf(g-1, nodes)+1)%nodes {
				t.Fatalf("%d nodes: client %d on node %d after node %d", nodes, g, n, NodeOf(g-1, nodes))
			}
			count[n]++
		}
		if lo, hi := slices.Min(count), slices.Max(count); hi-lo > 1 {
			t.Fatalf("%d nodes: %d to %d clients per node", nodes, lo, hi)
		}
	}
	// 65,536 clients over 4 nodes: 16,384 each, under 20,000 open files.
	if n := 65536 / 4; NodeOf(65535, 4) != 3 || n != 16384 {
		t.Fatal("65,536 clients do not split into 4 × 16,384")
	}
}

// Every room of 6 has members on min(nodes, 6) different nodes: none sits
// on one node alone once there are two.
func TestEveryRoomSpansNodes(t *testing.T) {
	for _, nodes := range []int{2, 3, 4, 5, 6, 8} {
		for _, clients := range []int{1200, 1201, 65536} {
			rooms := (clients + 5) / 6
			for ri := 0; ri < rooms; ri++ {
				ns := RoomNodes(ri, 6, clients, nodes)
				distinct := map[int]bool{}
				for _, n := range ns {
					distinct[n] = true
				}
				if want := min(nodes, len(ns)); len(distinct) != want {
					t.Fatalf("%d nodes, %d clients: room %d on nodes %v, want %d distinct", nodes, clients, ri, ns, want)
				}
			}
		}
	}
}

func TestTargetsSplitRoomMatesBySide(t *testing.T) {
	// A room of 6 over 4 nodes: members 0 and 4 share node 0, 1 and 5
	// node 1.
	ns := RoomNodes(0, 6, 6, 4)
	if !slices.Equal(ns, []int{0, 1, 2, 3, 0, 1}) {
		t.Fatalf("room 0 on nodes %v", ns)
	}
	for _, tc := range []struct {
		pos  int
		set  PairSet
		want []uint8
	}{
		{0, AllPairs, []uint8{1, 2, 3, 4, 5}},
		{0, SameNode, []uint8{4}},
		{0, CrossNode, []uint8{1, 2, 3, 5}},
		{5, SameNode, []uint8{1}},
		{2, SameNode, nil},
		{2, CrossNode, []uint8{0, 1, 3, 4, 5}},
	} {
		if got := Targets(nil, ns, tc.pos, tc.set); !slices.Equal(got, tc.want) {
			t.Errorf("member %d, %v: %v, want %v", tc.pos, tc.set, got, tc.want)
		}
	}
	// Every pair is in exactly one of the two sets, never both, and each
	// pair of a set really is on one node (or on two).
	for pos := range ns {
		same, cross := Targets(nil, ns, pos, SameNode), Targets(nil, ns, pos, CrossNode)
		all := slices.Sorted(slices.Values(append(slices.Clone(same), cross...)))
		if !slices.Equal(all, Targets(nil, ns, pos, AllPairs)) {
			t.Fatalf("member %d: same %v + cross %v is not every room-mate", pos, same, cross)
		}
		for _, t2 := range same {
			if ns[t2] != ns[pos] {
				t.Fatalf("member %d: same-node target %d is on node %d", pos, t2, ns[t2])
			}
		}
		for _, t2 := range cross {
			if ns[t2] == ns[pos] {
				t.Fatalf("member %d: cross-node target %d is on its node", pos, t2)
			}
		}
	}
}

func TestPairCounts(t *testing.T) {
	for _, tc := range []struct{ clients, nodes, same, cross int }{
		{1200, 1, 200 * 30, 0},
		{1200, 2, 200 * 12, 200 * 18}, // nodes 0,1,0,1,0,1: 3+3 ordered pairs each side
		{1200, 4, 200 * 4, 200 * 26},  // two pairs on a node, both ways
		{1200, 6, 0, 200 * 30},        // one member per node
		{7, 2, 30 - 18, 18},           // the 7th client alone in its room
	} {
		s, c := PairCounts(tc.clients, 6, tc.nodes)
		if s != tc.same || c != tc.cross {
			t.Errorf("%d clients on %d nodes: %d same-node and %d cross-node pairs, want %d and %d", tc.clients, tc.nodes, s, c, tc.same, tc.cross)
		}
	}
}

func TestParsePairSet(t *testing.T) {
	for _, p := range []PairSet{AllPairs, SameNode, CrossNode} {
		if got, err := ParsePairSet(p.String()); err != nil || got != p {
			t.Fatalf("%v: %v %v", p, got, err)
		}
	}
	if _, err := ParsePairSet("nearby"); err == nil {
		t.Fatal("accepted an unknown pair set")
	}
}
