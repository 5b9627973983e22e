package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// Local is the node's own server, as the cluster reaches it: *loop.Server
// implements it (cluster does not import loop).
type Local interface {
	// Tables are the server's client and room tables.
	Tables() (*registry.Clients, *registry.Rooms)
	// Announcer tells the node's clients about changes to their rooms.
	Announcer() registry.NodeAnnouncer
	// Refuse sends a client of this node an error event.
	Refuse(c *registry.Client, p proto.Problem)
	// Evicted tells a client of this node it lost its seat in room.
	Evicted(c *registry.Client, room string, p proto.Problem)
	// HandOver gives another node the session of id, held here; to stands
	// for it there and takes its seat here.
	HandOver(id proto.ClientID, lastSeq uint64, to *registry.Client) (registry.Handover, error)
	// AdoptSession keeps a session handed over, on the loop of via.
	AdoptSession(via *registry.Client, h registry.Handover) (*registry.Client, error)
	// ResumeHandedOver resumes, on via, the session owner holds here.
	ResumeHandedOver(via, owner *registry.Client, lastSeq uint64) error
	// ResumeFailed tells via its resume failed.
	ResumeFailed(via *registry.Client, why string)
}

// Node is this server's membership of a cluster. Its goroutines, none per
// client: nats.go's own (reader, flusher, one per subscription: relays in,
// heartbeats), the applier (the only one that applies room lists here),
// seatWorkers workers (compare-and-set on the bucket, one room always on
// the same worker), the publisher (relays out, in batches), and the
// heartbeat ticker (liveness.go).
type Node struct {
	cfg Config
	log zerolog.Logger
	nc  *nats.Conn
	js  jetstream.JetStream
	// kv is the membership bucket; replaced when NATS lost it (a restart of
	// a server keeping it in memory).
	kv atomic.Pointer[kvBox]

	connected atomic.Bool
	// ready is closed once Attach has applied the bucket's first contents.
	ready chan struct{}

	clients *registry.Clients
	rooms   *registry.Rooms
	ann     registry.NodeAnnouncer
	local   Local

	// pending maps a client of this node to the room it asked to join and
	// has not been seated in yet. Lock order: after a room's lock (Apply's
	// claim runs under it).
	pendingMu sync.Mutex
	pending   map[*registry.Client]string
	// resuming marks the pending clients that are sessions handed over.
	resuming map[*registry.Client]bool
	// resumeSecret makes resume tokens on every node (handover.go).
	resumeSecret []byte
	handing      handing

	workers  [seatWorkers]*worker
	resumers [resumeWorkers]*worker
	updates  chan update
	rewatch  chan struct{}
	proxies  proxyTable
	outboxes outboxes
	view     view
	live     liveness
	stats    counters

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// kvBox holds the bucket and when NATS made it: a bucket made anew (NATS
// restarted and lost it) numbers its revisions afresh.
type kvBox struct {
	kv      jetstream.KeyValue
	created time.Time
}

// Connect connects to NATS and makes sure the membership bucket exists; the
// node serves once Attach hands it the server.
func Connect(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg, _ = cfg.withDefaults()
	n := &Node{
		cfg:      cfg,
		log:      cfg.Logger.With().Str("node", cfg.NodeID).Logger(),
		ready:    make(chan struct{}),
		pending:  make(map[*registry.Client]string),
		resuming: make(map[*registry.Client]bool),
		updates:  make(chan update, 4096),
		rewatch:  make(chan struct{}, 1),
	}
	// Clients may ask to join as soon as the server listens, before
	// Attach: their jobs wait in the workers' queues.
	for i := range n.workers {
		n.workers[i] = newWorker(n)
	}
	for i := range n.resumers {
		n.resumers[i] = newWorker(n)
	}
	n.proxies.init()
	n.handing.init()
	n.outboxes.init(n)
	n.view.init()
	n.live.init()
	n.ctx, n.cancel = context.WithCancel(context.Background())
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), cfg.natsOptions(handlers{
		disconnected: n.disconnected, reconnected: n.reconnected, closed: n.closed, asyncError: n.asyncError,
	})...)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", strings.Join(cfg.URLs, ","), err)
	}
	n.nc = nc
	if n.js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := n.openBucket(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	n.connected.Store(true)
	n.log.Info().Str("nats", nc.ConnectedUrlRedacted()).Str("server", nc.ConnectedServerVersion()).Msg("joined the cluster")
	return n, nil
}

// openBucket creates the membership bucket, or opens it as it is.
func (n *Node) openBucket(ctx context.Context) error {
	kv, err := n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      n.cfg.Name + "-rooms",
		Description: "RedRTC room membership (docs/cluster.md)",
		History:     1,
		Storage:     jetstream.MemoryStorage,
		Replicas:    n.cfg.Replicas,
	})
	if err != nil {
		return fmt.Errorf("membership bucket %s-rooms: %w", n.cfg.Name, err)
	}
	if err := n.ensureResumeSecret(kv); err != nil {
		return err
	}
	box := &kvBox{kv: kv}
	if st, err := kv.Status(ctx); err == nil {
		if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok && bs.StreamInfo() != nil {
			box.created = bs.StreamInfo().Created
		}
	}
	n.kv.Store(box)
	return nil
}

func (n *Node) bucket() jetstream.KeyValue { return n.kv.Load().kv }

// Attach starts serving local's clients: relays from other nodes, the
// bucket's lists, heartbeats. It returns once the bucket's contents are
// applied, or ctx ends.
func (n *Node) Attach(ctx context.Context, local Local) error {
	n.local = local
	n.clients, n.rooms = local.Tables()
	n.ann = local.Announcer()
	for _, w := range n.allWorkers() {
		n.spawn(w.run)
	}
	if err := n.subscribe(); err != nil {
		return err
	}
	n.spawn(n.applier)
	n.spawn(n.outboxes.publisher)
	n.spawn(n.heartbeats)
	select {
	case <-n.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cluster: waiting for the bucket's contents: %w", ctx.Err())
	}
}

func (n *Node) allWorkers() []*worker {
	return append(n.workers[:len(n.workers):len(n.workers)], n.resumers[:]...)
}

func (n *Node) spawn(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// subscribe listens for relays to this node and for heartbeats.
func (n *Node) subscribe() error {
	sub, err := n.nc.Subscribe(n.nodeSubject(n.cfg.NodeID), n.relaysIn)
	if err == nil {
		// A batch is one message; the defaults (65,536 messages, 64 MiB)
		// would drop relays under a burst rather than queue them.
		err = sub.SetPendingLimits(-1, 512<<20)
	}
	if err == nil {
		_, err = n.nc.Subscribe(n.cfg.Name+".hb", n.heartbeatIn)
	}
	if err == nil {
		_, err = n.nc.Subscribe(n.nodeSubject(n.cfg.NodeID)+".takeover", n.takeoverIn)
	}
	if err == nil {
		_, err = n.nc.Subscribe(n.cfg.Name+".bye", n.byeIn)
	}
	if err != nil {
		return fmt.Errorf("cluster subscriptions: %w", err)
	}
	return nil
}

func (n *Node) nodeSubject(node string) string { return n.cfg.Name + ".node." + node }

// ID is this node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Connected reports whether the node reaches NATS now.
func (n *Node) Connected() bool { return n.connected.Load() }

// Member returns the Client standing for a member on another node.
func (n *Node) Member(id proto.ClientID) *registry.Client { return n.proxies.get(id) }

// Close leaves the cluster: what the workers still have to write to the
// bucket (the seats of clients that left as the server stopped) is written,
// until ctx ends, then the connection is closed.
func (n *Node) Close(ctx context.Context) error {
	for _, w := range n.allWorkers() {
		w.finish()
	}
	done := make(chan struct{})
	go func() {
		if n.local != nil { // attached: the workers run
			for _, w := range n.allWorkers() {
				<-w.done
			}
		}
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("cluster: leaving: %w", ctx.Err())
	}
	// The others forget this node now, rather than count it lost later.
	if n.Connected() {
		_ = n.nc.Publish(n.cfg.Name+".bye", []byte(n.cfg.NodeID))
		_ = n.nc.FlushTimeout(time.Second)
	}
	n.cancel()
	n.outboxes.wake()
	n.nc.Close()
	n.wg.Wait()
	return err
}

func (n *Node) disconnected(_ *nats.Conn, err error) {
	n.connected.Store(false)
	n.log.Warn().Err(err).Msg("lost NATS: relays to other nodes and joins fail until it is back")
}

func (n *Node) reconnected(nc *nats.Conn) {
	n.log.Info().Str("nats", nc.ConnectedUrlRedacted()).Msg("NATS is back: re-reading the rooms")
	n.live.restart()
	select {
	case n.rewatch <- struct{}{}:
	default:
	}
	n.connected.Store(true)
}

func (n *Node) closed(*nats.Conn) { n.connected.Store(false) }

func (n *Node) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	ev := n.log.Error().Err(err)
	if sub != nil {
		ev = ev.Str("subject", sub.Subject)
	}
	if errors.Is(err, nats.ErrSlowConsumer) {
		n.stats.slowConsumer.Add(1)
	}
	ev.Msg("NATS")
}

// timeout bounds one request to the bucket.
func (n *Node) timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(n.ctx, max(n.cfg.NodeTimeout/2, 2*time.Second))
}
