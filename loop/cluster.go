package loop

import (
	"context"
	"sync"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// Cluster is what a node of a cluster asks of the cluster (package cluster
// implements it; cmd/redrtc wires the two, as loop does not import it).
// Config.Cluster nil is a lone server: nothing here runs.
type Cluster interface {
	// Join asks for c's seat in room (name for a new room). It returns at
	// once; the cluster answers later, from its own goroutines, by applying
	// the room's new list here (room-joined) or by Refuse.
	Join(c *registry.Client, room, name string)
	// Left tells the cluster that c left room on this node (it has left the
	// room here already), or, with room "", that c gave up a join it asked
	// for and not yet got.
	Left(c *registry.Client, room string)
	// Member returns the Client standing for a member on another node, or
	// nil when no room on this node has a member with this id.
	Member(id proto.ClientID) *registry.Client
	// Connected reports whether this node reaches NATS now.
	Connected() bool
	// Resume asks the node holding the session of client id, if another
	// node holds it, to hand it over (the token is checked already); the
	// cluster answers later, by ResumeHandedOver or ResumeFailed.
	Resume(c *registry.Client, id proto.ClientID, lastSeq uint64)
}

// clusterSide is how the cluster's goroutines reach this node's clients:
// it encodes on a scratch buffer of its own, under mu, and counts what it
// sends in the metrics of a loop state of its own, which only it writes
// (under mu) and Metrics sums with the event loops'. Lock order: taken
// after a room's lock (announcements are made under it), before the
// targets' loopState.mu (Send).
type clusterSide struct {
	mu sync.Mutex
	ls *loopState
}

// Tables returns the server's client and room tables, for the cluster to
// apply its lists to and deliver relays from other nodes through.
func (s *Server) Tables() (*registry.Clients, *registry.Rooms) { return s.clients, s.rooms }

// Announcer returns what tells this node's clients about changes the
// cluster makes to their rooms.
func (s *Server) Announcer() registry.NodeAnnouncer { return &s.clusterSide }

// Refuse sends c, a client on this node, an error event; any goroutine may
// call it.
func (s *Server) Refuse(c *registry.Client, p proto.Problem) {
	cs := &s.clusterSide
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c.Sender.Send(cs.ls.finish(proto.AppendError(cs.ls.begin(), p.Code, p.Message, p.Event), ws.OpText))
	count(&cs.ls.m.errors[errorIndex(p.Code)])
}

// Evicted tells c, a client of this node, that the cluster gave its seat
// in room away (while this node was cut off from it): an error event, then
// room-left, and --join-timeout's clock starts again, as after leave-room.
func (s *Server) Evicted(c *registry.Client, room string, p proto.Problem) {
	held, ok := c.Sender.(*conn)
	if !ok {
		return
	}
	_ = held.ls.el.Execute(context.Background(), onConn{c: held, do: func(c *conn) {
		if c.state != stateOpen || c.inRoom() {
			return
		}
		c.sendError(p)
		c.roomlessSince = s.uptimeSeconds()
		c.Send(c.ls.finish(proto.AppendRoomLeft(c.ls.begin(), room), ws.OpText))
	}})
}

// Applied announces a list the cluster applied: room-joined to each local
// joiner (room-created first to the first member of a new room), then one
// participants to every local member.
func (cs *clusterSide) Applied(r *registry.Room, joiners []*registry.Client, created bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	ls := cs.ls
	ids := ls.memberIDs(r)
	for i, j := range joiners {
		if created && i == 0 {
			j.Sender.Send(ls.finish(proto.AppendRoomCreated(ls.begin(), r.ID, r.Name), ws.OpText))
		}
		j.Sender.Send(ls.finish(ls.appendRoomJoined(ls.begin(), r, j, ids), ws.OpText))
		ls.countJoin(len(ids))
	}
	ls.announce(r, ids)
}

// Joined is never called for a cluster's rooms: a join there is applied.
func (cs *clusterSide) Joined(r *registry.Room, joiner *registry.Client, created bool) {
	cs.Applied(r, []*registry.Client{joiner}, created)
}

// Left announces a member of another node leaving a room here (the cluster
// lost its node).
func (cs *clusterSide) Left(r *registry.Room, _ *registry.Client) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.ls.announce(r, cs.ls.memberIDs(r))
}

// clusterJoin asks the cluster for a seat; the answer comes later.
func (c *conn) clusterJoin(cl Cluster, id []byte, name string) {
	if !cl.Connected() {
		c.sendError(proto.Problem{Code: proto.CodeClusterUnavailable, Message: "this server cannot reach the cluster; try again", Event: proto.EventJoinRoom})
		return
	}
	cl.Join(&c.client, string(id), name)
}

// unreachable reports whether target is on another node this node cannot
// reach now, after telling the sender so.
func (c *conn) unreachable(target *registry.Client, event proto.Event) bool {
	cl := c.ls.srv.cfg.Cluster
	if cl == nil || !target.IsRemote() || cl.Connected() {
		return false
	}
	c.sendError(proto.Problem{Code: proto.CodeClusterUnavailable, Message: "the recipient is on a server this one cannot reach now", Event: event})
	return true
}
