package layout

import (
	"slices"
	"testing"
)

// Every pair of nodes comes once in the tournament, and each round of it
// (nodes/2 pairs, (nodes-1)/2 when nodes is odd) has every node at most
// once.
func TestPairsAreARoundRobinTournament(t *testing.T) {
	for nodes := 2; nodes <= 9; nodes++ {
		ps := Pairs(nodes)
		if len(ps) != nodes*(nodes-1)/2 {
			t.Fatalf("%d nodes: %d pairs", nodes, len(ps))
		}
		seen := map[[2]int]bool{}
		for _, p := range ps {
			if p[0] > p[1] {
				p[0], p[1] = p[1], p[0]
			}
			if p[0] < 0 || p[1] >= nodes || p[0] == p[1] || seen[p] {
				t.Fatalf("%d nodes: pair %v in %v", nodes, p, ps)
			}
			seen[p] = true
		}
		per := nodes / 2
		for r := 0; r < len(ps)/per; r++ {
			on := map[int]bool{}
			for _, p := range ps[r*per : (r+1)*per] {
				if on[p[0]] || on[p[1]] {
					t.Fatalf("%d nodes: round %d %v plays a node twice", nodes, r, ps[r*per:(r+1)*per])
				}
				on[p[0]], on[p[1]] = true, true
			}
		}
	}
}

// Every room of 2 or more spans exactly 2 nodes once there are two, with
// half its members on each (3 + 3 for a room of 6), and every client is
// in exactly one room.
func TestEveryRoomSpansTwoNodes(t *testing.T) {
	for _, nodes := range []int{2, 3, 4, 5, 6, 8} {
		for _, size := range []int{2, 3, 6} {
			for _, clients := range []int{1200, 1201, 65536} {
				rooms := (clients + size - 1) / size
				members := 0
				for ri := 0; ri < rooms; ri++ {
					ns := RoomNodes(ri, size, clients, nodes)
					members += len(ns)
					count := map[int]int{}
					for _, n := range ns {
						if n < 0 || n >= nodes {
							t.Fatalf("%d nodes: room %d on node %d", nodes, ri, n)
						}
						count[n]++
					}
					if len(ns) >= 2 && len(count) != 2 {
						t.Fatalf("%d nodes, rooms of %d, %d clients: room %d on nodes %v, want 2 distinct", nodes, size, clients, ri, ns)
					}
					for _, c := range count {
						if c != len(ns)/2 && c != (len(ns)+1)/2 {
							t.Fatalf("%d nodes, rooms of %d: room %d on nodes %v, not half and half", nodes, size, ri, ns)
						}
					}
				}
				if members != clients {
					t.Fatalf("%d nodes, rooms of %d: %d clients in rooms of %d clients", nodes, size, members, clients)
				}
			}
		}
	}
	if ns := RoomNodes(0, 6, 6, 1); !slices.Equal(ns, []int{0, 0, 0, 0, 0, 0}) {
		t.Fatalf("one node: room 0 on nodes %v", ns)
	}
}

// The balancer's share: every node gets the same number of clients to
// within a room's worth, and, over the tournament, shares rooms with every
// other node alike.
func TestNodesShareClientsAndRooms(t *testing.T) {
	for _, nodes := range []int{1, 2, 3, 4, 5, 7, 8} {
		for _, size := range []int{1, 2, 3, 5, 6} {
			for _, clients := range []int{1200, 1201, 65536} {
				count := make([]int, nodes)
				for g := 0; g < clients; g++ {
					count[NodeOf(g, size, nodes)]++
				}
				if lo, hi := slices.Min(count), slices.Max(count); hi-lo > size {
					t.Fatalf("%d nodes, rooms of %d, %d clients: %d to %d clients per node", nodes, size, clients, lo, hi)
				}
			}
		}
		if nodes < 2 {
			continue
		}
		// Two full turns of the tournament: every pair of nodes has the
		// same rooms, and every node 2/nodes of them.
		ps := len(Pairs(nodes))
		shared := map[[2]int]int{}
		for ri := 0; ri < 2*ps; ri++ {
			p := RoomPair(ri, nodes)
			shared[[2]int{min(p[0], p[1]), max(p[0], p[1])}]++
		}
		for p, c := range shared {
			if c != 2 {
				t.Fatalf("%d nodes: nodes %v share %d rooms of %d", nodes, p, c, 2*ps)
			}
		}
		rooms := NodeRooms(2*ps*6, 6, nodes)
		for n, r := range rooms {
			if r != 2*(nodes-1) {
				t.Fatalf("%d nodes: node %d in %d of %d rooms", nodes, n, r, 2*ps)
			}
		}
	}
}

// The case: 65,536 clients on 4 nodes, 16,384 each, under 20,000
// open files, in 10,923 rooms (the last of 4), each node in about half of
// them, none over --rooms' 10,000, so every client joins.
func TestSixtyFiveThousandOnFourNodes(t *testing.T) {
	count := make([]int, 4)
	for g := 0; g < 65536; g++ {
		count[NodeOf(g, 6, 4)]++
	}
	if lo, hi := slices.Min(count), slices.Max(count); lo < 16381 || hi > 16387 {
		t.Fatalf("65,536 clients over 4 nodes: %v", count)
	}
	rooms := NodeRooms(65536, 6, 4)
	total := 0
	for n, r := range rooms {
		if r > 10000 || r < 5450 || r > 5475 {
			t.Fatalf("node %d in %d rooms (%v)", n, r, rooms)
		}
		total += r
	}
	if total != 2*10923 {
		t.Fatalf("%d room memberships over the nodes, want 2 × 10,923", total)
	}
	if j := Joiners(65536, 6, 4, 10000); j != 65536 {
		t.Fatalf("%d of 65,536 clients join", j)
	}
	// Two nodes hold every room each: 10,000 rooms, 60,000 clients.
	if j := Joiners(65536, 6, 2, 10000); j != 60000 {
		t.Fatalf("two nodes: %d of 65,536 clients join", j)
	}
	if j := Joiners(1200, 6, 1, 10000); j != 1200 {
		t.Fatalf("one node: %d of 1,200 clients join", j)
	}
}

func TestTargetsSplitRoomMatesBySide(t *testing.T) {
	// Room 0 of 6 over 4 nodes: nodes 3 and 0 (the tournament's first
	// pair), alternating, so members 0, 2, 4 share one node and 1, 3, 5
	// the other.
	ns := RoomNodes(0, 6, 6, 4)
	if !slices.Equal(ns, []int{3, 0, 3, 0, 3, 0}) {
		t.Fatalf("room 0 on nodes %v", ns)
	}
	for _, tc := range []struct {
		pos  int
		set  PairSet
		want []uint8
	}{
		{0, AllPairs, []uint8{1, 2, 3, 4, 5}},
		{0, SameNode, []uint8{2, 4}},
		{0, CrossNode, []uint8{1, 3, 5}},
		{5, SameNode, []uint8{1, 3}},
		{2, CrossNode, []uint8{1, 3, 5}},
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
		{1200, 2, 200 * 12, 200 * 18}, // 3 + 3: each member has 2 room-mates on its node, 3 on the other
		{1200, 4, 200 * 12, 200 * 18}, // the same with any number of nodes
		{1200, 8, 200 * 12, 200 * 18},
		{7, 2, 30 - 18, 18},     // the 7th client alone in its room
		{10, 4, 12 + 4, 18 + 8}, // a last room of 4: 2 + 2
	} {
		s, c := PairCounts(tc.clients, 6, tc.nodes)
		if s != tc.same || c != tc.cross {
			t.Errorf("%d clients on %d nodes: %d same-node and %d cross-node pairs, want %d and %d", tc.clients, tc.nodes, s, c, tc.same, tc.cross)
		}
	}
	if s, _ := PairCounts(1200, 2, 4); s != 0 {
		t.Errorf("rooms of 2 over 4 nodes: %d same-node pairs", s)
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
