package cluster

import (
	"encoding/json"
	"errors"
	"hash/maphash"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// seatWorkers is how many goroutines write seats to the bucket. A room's
// writes are always one worker's, in the order they were asked for, so that
// a client's join and leave of one room are never reordered and this node
// does not race itself for a room.
const seatWorkers = 8

// maxCAS bounds the attempts of one compare-and-set against other nodes'.
const maxCAS = 64

var roomSeed = maphash.MakeSeed()

type jobKind uint8

const (
	jobJoin      jobKind = iota // seat c in room
	jobLeave                    // free id's seat in room
	jobReconcile                // make room's list hold exactly this node's members of it
	jobDropNode                 // free the seats of node's members in room (node lost)
	jobResume                   // get id's session from the node that holds it, for c
)

type job struct {
	kind jobKind
	room string
	name string // jobJoin: the room's name, should the join create it
	c    *registry.Client
	id   proto.ClientID
	node string
	seq  uint64 // jobResume: the client's lastSeq
}

// Join asks for c's seat in room; see loop.Cluster.
func (n *Node) Join(c *registry.Client, room, name string) {
	n.pendingMu.Lock()
	n.pending[c] = room
	n.pendingMu.Unlock()
	n.push(job{kind: jobJoin, room: room, name: name, c: c, id: c.ID})
}

// Left tells the cluster c left room here, or gave up its join (room "").
func (n *Node) Left(c *registry.Client, room string) {
	n.pendingMu.Lock()
	delete(n.pending, c)
	delete(n.resuming, c)
	n.pendingMu.Unlock()
	if room != "" {
		n.push(job{kind: jobLeave, room: room, id: c.ID})
	}
}

// claim is Apply's: it seats c in room when c asked for it, once.
func (n *Node) claim(room string) func(*registry.Client) registry.Claim {
	return func(c *registry.Client) registry.Claim {
		n.pendingMu.Lock()
		defer n.pendingMu.Unlock()
		if n.pending[c] != room {
			return registry.NotAsked
		}
		delete(n.pending, c)
		if n.resuming[c] {
			delete(n.resuming, c)
			return registry.Resuming
		}
		return registry.Joining
	}
}

// asked reports whether c still waits for a seat in room.
func (n *Node) asked(c *registry.Client, room string) bool {
	n.pendingMu.Lock()
	defer n.pendingMu.Unlock()
	return n.pending[c] == room
}

// refuse answers c's join of room with p, unless c gave it up meanwhile.
func (n *Node) refuse(c *registry.Client, room string, code proto.Code, message string) {
	n.pendingMu.Lock()
	asked := n.pending[c] == room
	if asked {
		delete(n.pending, c)
	}
	n.pendingMu.Unlock()
	if asked {
		n.local.Refuse(c, proto.Problem{Code: code, Message: message, Event: proto.EventJoinRoom})
	}
}

func (n *Node) push(j job) {
	n.workers[maphash.String(roomSeed, j.room)%seatWorkers].push(j)
}

// worker carries out the jobs of its rooms in order.
type worker struct {
	n         *Node
	mu        sync.Mutex
	queue     []job
	finishing bool
	wake      chan struct{}
	done      chan struct{}
}

func newWorker(n *Node) *worker {
	return &worker{n: n, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (w *worker) push(j job) {
	w.mu.Lock()
	w.queue = append(w.queue, j)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// finish makes the worker end once its queue is empty.
func (w *worker) finish() {
	w.mu.Lock()
	w.finishing = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) run() {
	defer close(w.done)
	var batch []job
	for {
		w.mu.Lock()
		batch, w.queue = w.queue, batch[:0]
		finishing := w.finishing
		w.mu.Unlock()
		for _, j := range batch {
			w.n.do(j)
		}
		clear(batch)
		if len(batch) > 0 {
			continue
		}
		if finishing {
			return
		}
		select {
		case <-w.wake:
		case <-w.n.ctx.Done():
			return
		}
	}
}

func (n *Node) do(j job) {
	defer func() {
		if v := recover(); v != nil {
			n.log.Error().Interface("panic", v).Str("room", j.room).Msg("panic while writing a seat")
		}
	}()
	var err error
	switch j.kind {
	case jobJoin:
		n.seat(j)
	case jobLeave:
		err = n.unseat(j.room, func(m member) bool { return m.ID == j.id && m.Node == n.cfg.NodeID })
	case jobDropNode:
		err = n.unseat(j.room, func(m member) bool { return m.Node == j.node })
	case jobReconcile:
		err = n.reconcile(j.room)
	case jobResume:
		n.resume(j)
	}
	if err != nil {
		n.log.Warn().Err(err).Str("room", j.room).Msg("writing a room to the bucket; it is set right when NATS is back")
	}
}

// seat adds j's client to its room's list, if a seat is free.
func (n *Node) seat(j job) {
	if !n.asked(j.c, j.room) {
		return
	}
	if n.cfg.RoomLimit > 0 && n.rooms.Get(j.room) == nil && n.rooms.Len() >= n.cfg.RoomLimit {
		n.refuse(j.c, j.room, proto.CodeRoomLimit, "the server has reached its room limit")
		return
	}
	key := roomKey(j.room)
	for range maxCAS {
		v, rev, err := n.change(key, func(v roomValue) (roomValue, bool) {
			if v.has(j.id) || len(v.Members) >= registry.RoomCapacity {
				return v, false
			}
			if len(v.Members) == 0 {
				v.Name = json.RawMessage(j.name)
			}
			v.Members = append(v.Members, member{ID: j.id, Node: n.cfg.NodeID})
			return v, true
		})
		switch {
		case errors.Is(err, errConflict):
			continue
		case err != nil:
			n.log.Warn().Err(err).Str("room", j.room).Msg("join")
			n.refuse(j.c, j.room, proto.CodeClusterUnavailable, "this server cannot reach the cluster; try again")
			return
		case !v.has(j.id):
			n.refuse(j.c, j.room, proto.CodeRoomFull, "the room already has 6 participants")
			return
		case rev == 0: // in the room already: nothing was written
			n.refuse(j.c, j.room, proto.CodeBadRequest, "you are in this room already")
			return
		}
		n.submit(update{room: j.room, rev: rev, value: v})
		return
	}
	n.refuse(j.c, j.room, proto.CodeClusterUnavailable, "the room is too busy; try again")
}

// unseat removes the members drop picks from room's list.
func (n *Node) unseat(room string, drop func(member) bool) error {
	key := roomKey(room)
	for range maxCAS {
		v, rev, err := n.change(key, func(v roomValue) (roomValue, bool) {
			out, gone := v.without(drop)
			return out, gone > 0
		})
		if errors.Is(err, errConflict) {
			continue
		}
		if err == nil && rev != 0 {
			n.submit(update{room: room, rev: rev, value: v})
		}
		return err
	}
	return errors.New("unseat: too many conflicting writes")
}

// reconcile makes room's list hold exactly this node's members of it: a
// member here that the list lacks is put back, while seats are free, and a
// member of this node's in the list that is not here is taken out. The
// members that no longer fit lose their seat and are told so.
//
// A room missing from the bucket, while members here are in it, is put
// back as this node knew it, members of other nodes included: NATS lost
// the bucket (a restart), and the room's members on other nodes must not
// see each other leave and come back while their nodes re-assert them. A
// member put back that has gone meanwhile is taken out by its own node,
// or with its node when that node is lost.
func (n *Node) reconcile(room string) error {
	var here, known []member
	if r := n.rooms.Get(room); r != nil {
		for _, c := range r.Info().Members {
			switch {
			case c.Room() != r:
			case c.IsRemote():
				known = append(known, member{ID: c.ID, Node: c.Sender.(*remoteSender).node()})
			default:
				here = append(here, member{ID: c.ID, Node: n.cfg.NodeID})
				known = append(known, here[len(here)-1])
			}
		}
	}
	key := roomKey(room)
	for range maxCAS {
		var evicted []proto.ClientID
		v, rev, err := n.change(key, func(v roomValue) (roomValue, bool) {
			evicted = evicted[:0]
			if len(v.Members) == 0 && len(here) > 0 {
				v.Members = known
				return v, true
			}
			out, gone := v.without(func(m member) bool {
				if m.Node != n.cfg.NodeID || hasID(here, m.ID) {
					return false
				}
				_, given := n.handing.givenTo(m.ID, n.keepGiven())
				return !given
			})
			added := 0
			for _, m := range here {
				switch {
				case out.has(m.ID):
				case len(out.Members) < registry.RoomCapacity:
					out.Members = append(out.Members, m)
					added++
				default:
					evicted = append(evicted, m.ID)
				}
			}
			return out, gone+added > 0
		})
		if errors.Is(err, errConflict) {
			continue
		}
		if err != nil {
			return err
		}
		for _, id := range evicted {
			if c := n.clients.Get(id); c != nil && n.rooms.Leave(c, n.ann) != nil {
				n.local.Evicted(c, room, evictedProblem)
			}
		}
		if rev != 0 {
			n.submit(update{room: room, rev: rev, value: v})
		}
		return nil
	}
	return errors.New("reconcile: too many conflicting writes")
}

func hasID(ms []member, id proto.ClientID) bool {
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}

var errConflict = errors.New("another node changed the room first")

// change reads key's room, lets edit change it, and writes it back if edit
// says it changed, unless another node wrote it meanwhile (errConflict).
// It returns the room as it is now and the revision it was written at, 0
// when nothing was written; a room left empty is deleted.
func (n *Node) change(key string, edit func(roomValue) (roomValue, bool)) (roomValue, uint64, error) {
	ctx, cancel := n.timeout()
	defer cancel()
	kv := n.bucket()
	var v roomValue
	var rev uint64
	e, err := kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
	case err != nil:
		return v, 0, err
	default:
		rev = e.Revision()
		if v, err = decodeRoom(e.Value()); err != nil {
			return v, 0, err
		}
	}
	out, changed := edit(v)
	if !changed {
		return out, 0, nil
	}
	var wrote uint64
	switch {
	case len(out.Members) == 0:
		err = kv.Delete(ctx, key, jetstream.LastRevision(rev))
	case rev == 0:
		wrote, err = kv.Create(ctx, key, out.encode())
	default:
		wrote, err = kv.Update(ctx, key, out.encode(), rev)
	}
	if conflict(err) {
		return out, 0, errConflict
	}
	return out, wrote, err
}

// conflict reports whether err is a compare-and-set that lost a race.
func conflict(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) &&
		(api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// submit hands a list this node wrote to the applier, which would see it
// from the bucket's watch a little later: the joiner is answered sooner.
func (n *Node) submit(u update) {
	select {
	case n.updates <- u:
	case <-n.ctx.Done():
	}
}
