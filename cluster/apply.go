package cluster

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// evictedProblem tells a member of this node that its seat went to another
// client while this node was cut off from the cluster.
var evictedProblem = proto.Problem{Code: proto.CodeRoomFull, Message: "your seat was given away while this server was cut off from the cluster", Event: proto.EventJoinRoom}

// update is a room's list as of a revision of the bucket: from the watch,
// or from this node's own write.
type update struct {
	room  string
	rev   uint64
	value roomValue
	// done, if not nil, is closed once the update is applied.
	done chan struct{}
}

// applier is the one goroutine that applies lists to this node's rooms,
// from the bucket's watch and this node's own writes, so that each room
// goes through its lists in the order of their revisions (registry.Apply
// skips one older than the room's). It re-reads the whole bucket when NATS
// comes back (rewatch).
func (n *Node) applier() {
	var w jetstream.KeyWatcher
	var entries <-chan jetstream.KeyValueEntry
	var retry <-chan time.Time
	stop := func() {
		if w != nil {
			_ = w.Stop()
			w, entries = nil, nil
		}
	}
	defer stop()
	loaded := false // the bucket's first contents are applied
	watch := func(again bool) {
		stop()
		retry = nil
		if again {
			before := n.kv.Load().created
			ctx, cancel := n.timeout()
			err := n.openBucket(ctx)
			cancel()
			if err != nil {
				n.log.Warn().Err(err).Msg("membership bucket; trying again in a second")
				retry = time.After(time.Second)
				return
			}
			if !n.kv.Load().created.Equal(before) {
				// NATS restarted and lost the bucket (it was in memory):
				// the new one numbers its changes afresh, and what was
				// queued from the old one is meaningless.
				n.rooms.ForgetRevisions()
				n.view.reset()
				n.drainUpdates()
			}
		}
		var err error
		// Every room, and not the resume secret: its key is two tokens.
		if w, err = n.bucket().Watch(n.ctx, "*"); err != nil {
			n.log.Warn().Err(err).Msg("watching the membership bucket; trying again in a second")
			w = nil
			retry = time.After(time.Second)
			return
		}
		entries = w.Updates()
	}
	watch(false)
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.rewatch:
			watch(true)
		case <-retry:
			watch(true)
		case u := <-n.updates:
			n.apply(u)
			if u.done != nil {
				close(u.done)
			}
		case e, ok := <-entries:
			if !ok {
				entries = nil
				continue
			}
			if e == nil { // the bucket's contents are all in
				if !loaded {
					loaded = true
					close(n.ready)
				}
				n.reassert()
				continue
			}
			n.applyEntry(e)
		}
	}
}

// drainUpdates drops the lists queued from a bucket NATS lost, letting
// their waiters go.
func (n *Node) drainUpdates() {
	for {
		select {
		case u := <-n.updates:
			if u.done != nil {
				close(u.done)
			}
		default:
			return
		}
	}
}

// applyEntry applies a change read from the watch.
func (n *Node) applyEntry(e jetstream.KeyValueEntry) {
	room, err := roomOfKey(e.Key())
	if err != nil {
		n.log.Warn().Err(err).Msg("a key that is not a room in the membership bucket")
		return
	}
	var v roomValue
	if e.Operation() == jetstream.KeyValuePut {
		if v, err = decodeRoom(e.Value()); err != nil {
			n.log.Warn().Err(err).Str("room", room).Msg("membership bucket")
			return
		}
	}
	n.apply(update{room: room, rev: e.Revision(), value: v})
}

// apply makes this node's copy of u.room match u's list.
func (n *Node) apply(u update) {
	if !n.view.set(u) {
		return // older than what this node has seen of the room
	}
	for _, m := range u.value.Members {
		if m.Node != n.cfg.NodeID {
			n.live.saw(m.Node)
		}
	}
	list := make([]registry.Listed, 0, len(u.value.Members))
	local := false
	ghosts := false
	for _, m := range u.value.Members {
		if m.Node != n.cfg.NodeID {
			list = append(list, registry.Listed{Client: n.proxies.ensure(n, m.ID, m.Node)})
			continue
		}
		c := n.clients.Get(m.ID)
		if c == nil {
			if to, given := n.handing.givenTo(m.ID, n.keepGiven()); given {
				// Handed over; the bucket will say so.
				list = append(list, registry.Listed{Client: n.proxies.ensure(n, m.ID, to)})
				continue
			}
			ghosts = true // gone from this node before its seat was freed
			continue
		}
		local = true
		list = append(list, registry.Listed{Client: c, Local: true})
		// A joiner leaves the room it is in first: one room at a time.
		if old := c.Room(); old != nil && old.ID != u.room && n.asked(c, u.room) {
			if r := n.rooms.Leave(c, n.ann); r != nil {
				n.push(job{kind: jobLeave, room: r.ID, id: c.ID})
			}
		}
	}
	if !local && n.rooms.Get(u.room) == nil {
		n.proxies.release(list)
		if ghosts {
			n.push(job{kind: jobReconcile, room: u.room})
		}
		return
	}
	res := n.rooms.Apply(u.room, string(u.value.Name), u.rev, list, n.claim(u.room), n.ann)
	n.proxies.release(list)
	if res.Stale {
		return
	}
	n.proxies.releaseAll(res.Removed)
	if ghosts || len(res.Ghosts) > 0 || len(res.Missing) > 0 {
		n.push(job{kind: jobReconcile, room: u.room})
	}
	for _, c := range res.Evicted {
		n.local.Evicted(c, u.room, evictedProblem)
	}
}

// reassert checks, once the bucket's contents are in, that it holds every
// member this node has: after NATS was lost, other nodes may have taken
// this one for lost, or a restarted NATS server lost the bucket.
func (n *Node) reassert() {
	for _, room := range n.rooms.IDs() {
		n.push(job{kind: jobReconcile, room: room})
	}
}

// keepGiven is how long a session handed over is not a ghost here: its new
// node moves its seat in the bucket within a request's time.
func (n *Node) keepGiven() time.Duration { return 2 * n.cfg.NodeTimeout }
