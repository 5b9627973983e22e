package cluster

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// A client that reconnects to another node resumes its session there
// (docs/cluster.md, "Drain"). The new node checks the resume token (the
// cluster shares the secret that makes them, in the bucket), asks the node
// the bucket seats the client on for the session (a NATS request on
// <name>.node.<id>.takeover), which hands it over: from then on its
// room-mates there reach it through this node. This node holds it as a
// detached session, moves its seat in the bucket to itself, and lets the
// client resume it. Relays for the client that arrive meanwhile, from the
// old node or any other, wait in a buffer and go into the session once it
// is seated, after what was handed over.

// resumeWorkers carry out resumes, apart from the seat workers: a resume
// waits on another node, which may be slow or lost, and joins must not wait
// behind it.
const resumeWorkers = 4

// resumeSecretKey is the bucket key of the cluster's resume secret: room
// keys are single tokens (base64url), so a key with a dot is never a room.
const resumeSecretKey = "resume.secret"

// ensureResumeSecret reads the cluster's resume secret, or makes it when
// no node has (the first node's start, or a restarted NATS that kept the
// bucket in memory); a node that has one already writes back that one.
func (n *Node) ensureResumeSecret(kv jetstream.KeyValue) error {
	ctx, cancel := n.timeout()
	defer cancel()
	secret := n.resumeSecret
	if secret == nil {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	_, err := kv.Create(ctx, resumeSecretKey, secret)
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("resume secret: %w", err)
	}
	e, err := kv.Get(ctx, resumeSecretKey)
	if err != nil {
		return fmt.Errorf("resume secret: %w", err)
	}
	switch {
	case n.resumeSecret == nil:
		n.resumeSecret = e.Value()
	case string(e.Value()) != string(n.resumeSecret):
		// A node started while NATS had lost the bucket made a new one:
		// tokens of one side fail on the other until the nodes restart.
		n.log.Error().Msg("the cluster's resume secret is not this node's: resume tokens made here fail on nodes started since; restart this node to take the cluster's")
	}
	return nil
}

// ResumeSecret is the secret every node makes and checks resume tokens
// with (loop.Config.ResumeSecret), so that a token works on any node.
func (n *Node) ResumeSecret() []byte { return n.resumeSecret }

// takeoverRequest asks a node for the session of ID, for the node Node.
type takeoverRequest struct {
	ID      proto.ClientID `json:"id"`
	LastSeq uint64         `json:"lastSeq"`
	Node    string         `json:"node"`
}

type takeoverReply struct {
	Error    string             `json:"error,omitempty"`
	Handover *registry.Handover `json:"handover,omitempty"`
}

// Resume asks the node holding the session of id to hand it over to c;
// see loop.Cluster.
func (n *Node) Resume(c *registry.Client, id proto.ClientID, lastSeq uint64) {
	j := job{kind: jobResume, c: c, id: id, seq: lastSeq}
	n.resumers[maphash.Bytes(roomSeed, id[:])%resumeWorkers].push(j)
}

// resume carries out a Resume job.
func (n *Node) resume(j job) {
	holder := n.view.nodeOf(j.id)
	if holder == "" || holder == n.cfg.NodeID || !n.live.alive(holder) {
		n.local.ResumeFailed(j.c, "no such session")
		return
	}
	n.handing.start(j.id)
	defer n.handing.stop(j.id)
	req, _ := json.Marshal(takeoverRequest{ID: j.id, LastSeq: j.seq, Node: n.cfg.NodeID})
	msg, err := n.nc.Request(n.nodeSubject(holder)+".takeover", req, min(n.cfg.NodeTimeout/2, 2*time.Second))
	var reply takeoverReply
	if err == nil {
		err = json.Unmarshal(msg.Data, &reply)
	}
	switch {
	case err != nil:
		n.log.Warn().Err(err).Str("holder", holder).Msg("resume on another node")
		n.local.ResumeFailed(j.c, "the server that holds the session did not answer")
		return
	case reply.Error != "" || reply.Handover == nil:
		n.local.ResumeFailed(j.c, reply.Error)
		return
	}
	h := *reply.Handover
	owner, err := n.local.AdoptSession(j.c, h)
	if err != nil {
		n.log.Warn().Err(err).Msg("adopting a session handed over")
		n.local.ResumeFailed(j.c, "the session could not be kept here")
		return
	}
	// The seat moves to this node in the bucket, where the client sits.
	n.pendingMu.Lock()
	n.pending[owner] = h.Room
	n.resuming[owner] = true
	n.pendingMu.Unlock()
	u, err := n.moveSeat(h.Room, h.ID, holder)
	if err == nil {
		u.done = make(chan struct{})
		n.submit(u)
		select {
		case <-u.done:
		case <-n.ctx.Done():
			err = n.ctx.Err()
		}
	}
	if err != nil || owner.Room() == nil {
		n.log.Warn().Err(err).Str("room", h.Room).Msg("moving a seat handed over")
		n.Left(owner, "")
		n.local.ResumeFailed(j.c, "the session's seat could not be moved here")
		return
	}
	n.handing.flush(j.id, owner)
	if err := n.local.ResumeHandedOver(j.c, owner, j.seq); err != nil {
		n.log.Warn().Err(err).Msg("resuming a session handed over")
	}
}

// moveSeat gives id's seat in room, which from held, to this node.
func (n *Node) moveSeat(room string, id proto.ClientID, from string) (update, error) {
	key := roomKey(room)
	for range maxCAS {
		v, rev, err := n.change(key, func(v roomValue) (roomValue, bool) {
			for i, m := range v.Members {
				if m.ID == id && m.Node == from {
					out := roomValue{Name: v.Name, Members: append([]member(nil), v.Members...)}
					out.Members[i].Node = n.cfg.NodeID
					return out, true
				}
			}
			return v, false
		})
		switch {
		case errors.Is(err, errConflict):
			continue
		case err != nil:
			return update{}, err
		case rev == 0:
			return update{}, errors.New("the seat is gone")
		}
		return update{room: room, rev: rev, value: v}, nil
	}
	return update{}, errors.New("moving a seat: too many conflicting writes")
}

// takeoverIn answers another node's request for a session held here.
func (n *Node) takeoverIn(msg *nats.Msg) {
	var req takeoverRequest
	var reply takeoverReply
	if err := json.Unmarshal(msg.Data, &req); err != nil || !validID.MatchString(req.Node) || req.Node == n.cfg.NodeID {
		reply.Error = "a malformed takeover request"
	} else {
		proxy := n.proxies.ensure(n, req.ID, req.Node)
		h, err := n.local.HandOver(req.ID, req.LastSeq, proxy)
		if err != nil {
			n.proxies.drop(proxy)
			reply.Error = err.Error()
		} else {
			n.proxies.keep(proxy)
			n.handing.gave(req.ID, req.Node)
			reply.Handover = &h
			n.log.Info().Stringer("client", req.ID).Str("to", req.Node).Msg("session handed over")
		}
	}
	b, _ := json.Marshal(reply)
	if err := msg.Respond(b); err != nil {
		n.log.Warn().Err(err).Msg("answering a takeover")
	}
}

// handing holds the relays for clients whose session is on its way here,
// and remembers the sessions this node gave away: until the bucket says
// where they went, its lists still place them here, and they are neither
// ghosts to take out nor missing.
type handing struct {
	mu  sync.Mutex
	ids map[proto.ClientID][][]byte
	// given maps a session handed over to the node it went to, and when.
	given map[proto.ClientID]givenTo
}

type givenTo struct {
	node string
	at   time.Time
}

func (h *handing) init() {
	h.ids = make(map[proto.ClientID][][]byte)
	h.given = make(map[proto.ClientID]givenTo)
}

// gave records that id's session went to node.
func (h *handing) gave(id proto.ClientID, node string) {
	h.mu.Lock()
	h.given[id] = givenTo{node: node, at: time.Now()}
	h.mu.Unlock()
}

// givenTo returns the node id's session was handed to within keep, if it
// was; older records are forgotten.
func (h *handing) givenTo(id proto.ClientID, keep time.Duration) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	g, ok := h.given[id]
	if ok && time.Since(g.at) > keep {
		delete(h.given, id)
		return "", false
	}
	return g.node, ok
}

func (h *handing) start(id proto.ClientID) {
	h.mu.Lock()
	h.ids[id] = nil
	h.mu.Unlock()
}

func (h *handing) stop(id proto.ClientID) {
	h.mu.Lock()
	delete(h.ids, id)
	h.mu.Unlock()
}

// hold keeps frame for id if its session is on its way here.
func (h *handing) hold(id proto.ClientID, frame []byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	held, ok := h.ids[id]
	if ok {
		h.ids[id] = append(held, append([]byte(nil), frame...))
	}
	return ok
}

// flush sends what was held for id to its session, now here, in order,
// and stops holding.
func (h *handing) flush(id proto.ClientID, to *registry.Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.ids[id] {
		to.Sender.Send(f)
	}
	delete(h.ids, id)
}
