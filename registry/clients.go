package registry

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/redrtc/redrtc/proto"
)

const clientShards = 64 // a power of two

// Clients is the table of connected clients keyed by id. Admission against the
// limit is a compare-and-swap on one counter, so the limit is never exceeded
// however many loops admit at once.
type Clients struct {
	limit  int64
	count  atomic.Int64
	shards [clientShards]clientShard
}

// clientShard fills whole cache lines, so that loops locking neighbouring
// shards do not contend for one line (false sharing). The padding comes
// first because Go pads a struct that ends in a zero-length field, which
// this one would when its state filled its lines exactly.
type clientShard struct {
	_ [(cacheLine - unsafe.Sizeof(clientShardState{})%cacheLine) % cacheLine]byte
	clientShardState
}

type clientShardState struct {
	mu sync.RWMutex
	m  map[proto.ClientID]*Client
}

// NewClients returns an empty table admitting at most limit clients.
func NewClients(limit int) *Clients {
	t := &Clients{limit: int64(limit)}
	for i := range t.shards {
		t.shards[i].m = make(map[proto.ClientID]*Client)
	}
	return t
}

func (t *Clients) shard(id proto.ClientID) *clientShard {
	// Ids are random, so their first bytes are already a good hash.
	return &t.shards[binary.LittleEndian.Uint64(id[:8])&(clientShards-1)]
}

// Add admits c, or returns ErrServerFull when the table is at its limit.
func (t *Clients) Add(c *Client) error {
	for {
		n := t.count.Load()
		if n >= t.limit {
			return ErrServerFull
		}
		if t.count.CompareAndSwap(n, n+1) {
			break
		}
	}
	s := t.shard(c.ID)
	s.mu.Lock()
	if _, taken := s.m[c.ID]; taken {
		s.mu.Unlock()
		t.count.Add(-1)
		return ErrDuplicate
	}
	s.m[c.ID] = c
	s.mu.Unlock()
	return nil
}

// Remove takes c out of the table; removing a client twice is harmless.
func (t *Clients) Remove(c *Client) {
	s := t.shard(c.ID)
	s.mu.Lock()
	if s.m[c.ID] == c {
		delete(s.m, c.ID)
		t.count.Add(-1)
	}
	s.mu.Unlock()
}

// Get returns the client with the given id, or nil.
func (t *Clients) Get(id proto.ClientID) *Client {
	s := t.shard(id)
	s.mu.RLock()
	c := s.m[id]
	s.mu.RUnlock()
	return c
}

// Len returns the number of clients in the table.
func (t *Clients) Len() int { return int(t.count.Load()) }
