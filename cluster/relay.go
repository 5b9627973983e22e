package cluster

import (
	"bytes"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// A relay to a member on another node leaves as a record in that node's
// outbox, the frame exactly as the sender's node encoded it (its
// fromClientId set there), and the publisher sends each outbox's records
// as one NATS message: one message per relay when traffic is light, many
// per message when it is heavy. Records of one outbox leave in the order
// they were added, on one connection and one subject, and the receiving
// node delivers them in that order, so that the messages of each sender to
// each target arrive in order; NATS delivers each once.
//
// A record: the target's id (16 bytes), the room id's length (1 byte) and
// the room id, the frame's length (4 bytes, big-endian) and the frame.

// remoteSender is the Sender of a member on another node.
type remoteSender struct {
	c   *registry.Client
	out atomic.Pointer[outbox]
}

func newRemoteSender(c *registry.Client, o *outbox) *remoteSender {
	s := &remoteSender{c: c}
	s.out.Store(o)
	return s
}

// Remote marks the Sender as another node's (registry.Client.IsRemote).
func (*remoteSender) Remote() {}

func (s *remoteSender) moveTo(o *outbox) { s.out.Store(o) }

// node is the node of the member.
func (s *remoteSender) node() string { return s.out.Load().node }

// Send queues msg for the member's node; it is called with the room's lock
// held, so the member's room is the one msg is for.
func (s *remoteSender) Send(msg []byte) {
	if r := s.c.Room(); r != nil {
		s.out.Load().add(s.c.ID, r.ID, msg)
	}
}

// outbox holds the records for one node until the publisher sends them.
type outbox struct {
	owner   *outboxes
	node    string
	subject string
	mu      sync.Mutex
	buf     []byte
	records int
	queued  bool
	// spare is the publisher's: the buffer it sends from, swapped with buf.
	spare []byte
}

func (o *outbox) add(id proto.ClientID, room string, frame []byte) {
	o.mu.Lock()
	o.buf = append(o.buf, id[:]...)
	o.buf = append(o.buf, byte(len(room)))
	o.buf = append(o.buf, room...)
	o.buf = binary.BigEndian.AppendUint32(o.buf, uint32(len(frame)))
	o.buf = append(o.buf, frame...)
	o.records++
	wake := !o.queued
	o.queued = true
	o.mu.Unlock()
	if wake {
		o.owner.ready(o)
	}
}

// outboxes are this node's outboxes, one per node it relays to, and the
// publisher that empties them.
type outboxes struct {
	n      *Node
	mu     sync.Mutex
	byNode map[string]*outbox
	// waiting lists the outboxes with records, for the publisher.
	waitMu  sync.Mutex
	waiting []*outbox
	wakeCh  chan struct{}
}

func (os *outboxes) init(n *Node) {
	os.n = n
	os.byNode = make(map[string]*outbox)
	os.wakeCh = make(chan struct{}, 1)
}

// of returns node's outbox.
func (os *outboxes) of(node string) *outbox {
	os.mu.Lock()
	defer os.mu.Unlock()
	o := os.byNode[node]
	if o == nil {
		o = &outbox{owner: os, node: node, subject: os.n.nodeSubject(node)}
		os.byNode[node] = o
	}
	return o
}

func (os *outboxes) ready(o *outbox) {
	os.waitMu.Lock()
	os.waiting = append(os.waiting, o)
	os.waitMu.Unlock()
	os.wake()
}

func (os *outboxes) wake() {
	select {
	case os.wakeCh <- struct{}{}:
	default:
	}
}

// publisher sends what the outboxes hold, each outbox's records in as few
// NATS messages as the server's largest payload allows.
func (os *outboxes) publisher() {
	n := os.n
	var batch []*outbox
	for {
		select {
		case <-os.wakeCh:
		case <-n.ctx.Done():
			return
		}
		os.waitMu.Lock()
		batch, os.waiting = os.waiting, batch[:0]
		os.waitMu.Unlock()
		for _, o := range batch {
			o.mu.Lock()
			data, records := o.buf, o.records
			o.buf, o.spare = o.spare[:0], nil
			o.records = 0
			o.queued = false
			o.mu.Unlock()
			os.publish(o.subject, data, records)
			o.mu.Lock()
			if o.spare == nil && cap(data) <= 1<<20 {
				o.spare = data[:0]
			}
			o.mu.Unlock()
		}
		clear(batch)
	}
}

// publish sends data, records whole, in messages of at most the server's
// largest payload. Records it could not send are lost, and their senders
// told (the node lost NATS after the relay was accepted).
func (os *outboxes) publish(subject string, data []byte, records int) {
	n := os.n
	limit := int(n.nc.MaxPayload())
	for len(data) > 0 {
		end := 0
		for end < len(data) {
			next := end + recordLen(data[end:])
			if next > limit && end > 0 {
				break
			}
			end = next
		}
		if err := n.nc.Publish(subject, data[:end]); err != nil {
			n.lost(data[:end], err)
		} else {
			n.stats.batchesOut.Add(1)
		}
		data = data[end:]
	}
	n.stats.relayedOut.Add(uint64(records))
}

// recordLen is the length of the record at the start of b.
func recordLen(b []byte) int {
	room := int(b[16])
	return 16 + 1 + room + 4 + int(binary.BigEndian.Uint32(b[17+room:]))
}

// records calls f for each record of a batch, and reports whether the
// batch was well formed.
func records(b []byte, f func(to proto.ClientID, room, frame []byte)) bool {
	for len(b) > 0 {
		if len(b) < 17 {
			return false
		}
		var id proto.ClientID
		copy(id[:], b)
		rl := int(b[16])
		if len(b) < 17+rl+4 {
			return false
		}
		room := b[17 : 17+rl]
		fl := int(binary.BigEndian.Uint32(b[17+rl:]))
		start := 17 + rl + 4
		if fl > len(b)-start {
			return false
		}
		f(id, room, b[start:start+fl])
		b = b[start+fl:]
	}
	return true
}

// relaysIn delivers a batch from another node to this node's clients that
// are still in the room each record is for.
func (n *Node) relaysIn(msg *nats.Msg) {
	ok := records(msg.Data, func(to proto.ClientID, room, frame []byte) {
		n.stats.relayedIn.Add(1)
		c := n.clients.Get(to)
		if c == nil {
			n.stats.droppedIn.Add(1)
			return
		}
		r := c.Room()
		if r == nil || r.ID != string(room) || !r.DeliverIn(c, frame) {
			n.stats.droppedIn.Add(1)
		}
	})
	if !ok {
		n.log.Error().Str("subject", msg.Subject).Msg("a malformed batch of relays")
	}
}

// lost tells the senders of records that could not be published that
// their messages did not go.
func (n *Node) lost(data []byte, err error) {
	n.log.Warn().Err(err).Msg("relays to another node not sent")
	records(data, func(_ proto.ClientID, _, frame []byte) {
		n.stats.relaysLost.Add(1)
		if from, ok := senderOf(frame); ok {
			if c := n.clients.Get(from); c != nil {
				n.local.Refuse(c, proto.Problem{Code: proto.CodeClusterUnavailable, Message: "a message to a member on another server was lost: this server lost the cluster"})
			}
		}
	})
}

var fromKey = []byte(`"fromClientId":"`)

// senderOf finds the sender's id in a relayed frame.
func senderOf(frame []byte) (proto.ClientID, bool) {
	i := bytes.Index(frame, fromKey)
	if i < 0 || len(frame) < i+len(fromKey)+36 {
		return proto.ClientID{}, false
	}
	return proto.ParseClientID(frame[i+len(fromKey) : i+len(fromKey)+36])
}
