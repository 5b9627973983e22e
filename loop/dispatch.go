package loop

import (
	"errors"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// dispatch decodes one text message and acts on it.
func (c *conn) dispatch(payload []byte) {
	if hook := c.ls.srv.hooks.beforeDispatch; hook != nil {
		hook(payload)
	}
	if c.staleSession() {
		return
	}
	var m proto.Message
	if p := proto.Decode(payload, &m); !p.OK() {
		c.countReceived(p.Event)
		c.sendError(p)
		return
	}
	c.countReceived(m.Event)
	switch m.Event {
	case proto.EventPing:
		c.sendUnsequenced(c.ls.finish(proto.AppendPong(c.ls.begin()), ws.OpText))
	case proto.EventJoinRoom:
		c.join(&m)
	case proto.EventLeaveRoom:
		c.leave()
	case proto.EventOffer, proto.EventAnswer, proto.EventICECandidate:
		c.relay(&m)
	case proto.EventAck:
		c.ack(&m)
	case proto.EventResume:
		c.resume(&m)
	}
}

// sendError sends an error event; the connection stays usable.
func (c *conn) sendError(p proto.Problem) {
	c.countError(p.Code)
	c.Send(c.ls.finish(proto.AppendError(c.ls.begin(), p.Code, p.Message, p.Event), ws.OpText))
}

// relay forwards an offer, answer or candidate to a member of the sender's
// room: encoded once, payload bytes passed through unchanged, and delivered
// under the room's lock so that a client that just left is not reached.
func (c *conn) relay(m *proto.Message) {
	room := c.client.Room()
	if room == nil {
		c.sendError(proto.Problem{Code: proto.CodeNotInRoom, Message: "join a room first", Event: m.Event})
		return
	}
	ls := c.ls
	target := ls.srv.clients.Get(m.Target)
	if target == nil && ls.srv.cfg.Cluster != nil {
		target = ls.srv.cfg.Cluster.Member(m.Target)
	}
	if target != nil {
		if c.unreachable(target, m.Event) {
			return
		}
		frame := ls.finish(proto.AppendRelay(ls.begin(), m.Event, c.client.ID, m.Payload), ws.OpText)
		tls, sampled := c.sampleRelay(target)
		if room.Deliver(&c.client, target, frame) {
			c.relayed(m.Event, len(frame), target.ID)
			return
		}
		unsampleRelay(tls, sampled)
	}
	c.sendError(proto.Problem{Code: proto.CodeTargetNotFound, Message: "no such client in your room", Event: m.Event})
}

// join moves the client into the requested room, creating it when needed.
func (c *conn) join(m *proto.Message) {
	s := c.ls.srv
	var id []byte
	if m.RoomID != nil {
		id = m.RoomID
	} else {
		fresh, err := proto.NewClientID()
		if err != nil {
			s.log.Error().Err(err).Msg("room id")
			c.sendError(proto.Problem{Code: proto.CodeBadRequest, Message: "could not create a room id", Event: proto.EventJoinRoom})
			return
		}
		id = fresh.AppendText(nil)
	}
	if !c.joinAuthorized(m, id) {
		return
	}
	var name string
	if m.RoomName != nil {
		name = string(m.RoomName)
	} else {
		name = `"` + string(id) + `"`
	}
	if cl := s.cfg.Cluster; cl != nil {
		c.clusterJoin(cl, id, name)
		return
	}
	err := s.rooms.Join(&c.client, id, name, c.ls) // leaves the current room, if it succeeds
	switch {
	case err == nil:
	case errors.Is(err, registry.ErrRoomFull):
		c.sendError(proto.Problem{Code: proto.CodeRoomFull, Message: "the room already has 6 participants", Event: proto.EventJoinRoom})
	case errors.Is(err, registry.ErrRoomLimit):
		s.refusedRoomLimit()
		c.sendError(proto.Problem{Code: proto.CodeRoomLimit, Message: "the server has reached its room limit", Event: proto.EventJoinRoom})
	default:
		s.log.Error().Err(err).Bytes("room", id).Msg("join")
	}
}

// leave takes the client out of its room at its request.
func (c *conn) leave() {
	s := c.ls.srv
	cl := s.cfg.Cluster
	if cl != nil {
		cl.Left(&c.client, "") // a join asked for, first (retire says why)
	}
	r := s.rooms.Leave(&c.client, c.ls)
	if cl != nil && r != nil {
		cl.Left(&c.client, r.ID)
	}
	if r == nil {
		c.sendError(proto.Problem{Code: proto.CodeNotInRoom, Message: "you are not in a room", Event: proto.EventLeaveRoom})
		return
	}
	// Out of every room, the client is on --join-timeout's clock again:
	// joining once must not buy a seat under --clients for good.
	c.roomlessSince = s.uptimeSeconds()
	c.Send(c.ls.finish(proto.AppendRoomLeft(c.ls.begin(), r.ID), ws.OpText))
}

// memberIDs collects a room's member ids; call with the room's lock held.
func (ls *loopState) memberIDs(r *registry.Room) []proto.ClientID {
	ls.ids = ls.ids[:0]
	for _, m := range r.Members() {
		ls.ids = append(ls.ids, m.ID)
	}
	return ls.ids
}

// Joined announces a join: room-created (to a creator), room-joined (to the
// joiner), then participants to every member. It implements
// registry.Announcer and runs under the room's lock.
func (ls *loopState) Joined(r *registry.Room, joiner *registry.Client, created bool) {
	if created {
		joiner.Sender.Send(ls.finish(proto.AppendRoomCreated(ls.begin(), r.ID, r.Name), ws.OpText))
	}
	ids := ls.memberIDs(r)
	ls.countJoin(len(ids))
	joiner.Sender.Send(ls.finish(ls.appendRoomJoined(ls.begin(), r, joiner, ids), ws.OpText))
	ls.announce(r, ids)
}

// Left announces a departure to the members who remain.
func (ls *loopState) Left(r *registry.Room, _ *registry.Client) {
	if hook := ls.srv.hooks.beforeLeftAnnounced; hook != nil {
		hook(r.ID)
	}
	ls.announce(r, ls.memberIDs(r))
}

// announce sends one participants frame, encoded once, to every member on
// this node: in a cluster, each node announces to its own.
func (ls *loopState) announce(r *registry.Room, ids []proto.ClientID) {
	frame := ls.finish(proto.AppendParticipants(ls.begin(), r.ID, ids), ws.OpText)
	for _, m := range r.Members() {
		if !m.IsRemote() {
			m.Sender.Send(frame)
		}
	}
}
