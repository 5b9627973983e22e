package loop

// retained is a session's unacknowledged frames, seq and all, oldest first:
// buf[off:] holds them, sizes[head:] their lengths. Both grow as needed, so
// that a client with a few events in flight holds about their bytes; the
// dropped front is reclaimed when it is worth a copy.
type retained struct {
	buf   []byte
	off   int
	sizes []uint32
	head  int
}

// maxPooledRetained is the largest buffer a loop keeps for reuse, and
// maxFreeRetained how many: beyond them, emptied buffers are left to the
// collector, so that a burst of clients with events in flight does not
// leave the server holding their peak for good.
const (
	maxPooledRetained = 8 << 10
	maxFreeRetained   = 64
)

func (r *retained) n() int { return len(r.sizes) - r.head }

func (r *retained) reset() {
	r.buf, r.off, r.sizes, r.head = r.buf[:0], 0, r.sizes[:0], 0
}

func (r *retained) dropOldest() {
	r.off += int(r.sizes[r.head])
	r.head++
	if r.n() == 0 {
		r.reset()
	}
}

func (r *retained) add(frame []byte) {
	if r.off > 0 && len(r.buf)+len(frame) > cap(r.buf) {
		r.buf = r.buf[:copy(r.buf, r.buf[r.off:])]
		r.off = 0
	}
	if r.head > 0 && len(r.sizes) == cap(r.sizes) {
		r.sizes = r.sizes[:copy(r.sizes, r.sizes[r.head:])]
		r.head = 0
	}
	r.buf = append(r.buf, frame...)
	r.sizes = append(r.sizes, uint32(len(frame)))
}

// retain keeps frame, the session's newest event, dropping the oldest
// beyond the bounds. One frame is always kept, however large. Call with
// ls.mu held; ls is the loop of the connection that holds the session.
func (s *session) retain(ls *loopState, frame []byte) {
	if s.ret == nil {
		s.ret = ls.takeRetained()
	}
	r := s.ret
	for r.n() > 0 && (r.n() == retainMessages || len(r.buf)-r.off+len(frame) > retainBytes) {
		r.dropOldest()
		s.base++
		count(&ls.m.retainDropped)
	}
	r.add(frame)
}

// trim forgets the frames up to seq, which the client has; an empty buffer
// goes back to the loop. Call with ls.mu held.
func (s *session) trim(ls *loopState, seq uint64) {
	if seq <= s.base {
		return
	}
	if r := s.ret; r != nil {
		for i := s.base; i < seq && r.n() > 0; i++ {
			r.dropOldest()
		}
	}
	s.base = seq
	s.release(ls)
}

// release gives an empty buffer back to the loop. Call with ls.mu held.
func (s *session) release(ls *loopState) {
	if r := s.ret; r != nil && r.n() == 0 {
		s.ret = nil
		if cap(r.buf) <= maxPooledRetained && len(ls.freeRetained) < maxFreeRetained {
			ls.freeRetained = append(ls.freeRetained, r)
		} else {
			ls.srv.retainedFreed.Add(1)
		}
	}
}

// each calls f with every retained frame after seq, oldest first.
func (s *session) each(after uint64, f func(frame []byte)) {
	r := s.ret
	if r == nil {
		return
	}
	off := r.off
	for i, size := range r.sizes[r.head:] {
		if s.base+uint64(i)+1 > after {
			f(r.buf[off : off+int(size)])
		}
		off += int(size)
	}
}

// takeRetained returns an empty buffer, from the loop's free list when it
// has one. Call with ls.mu held.
func (ls *loopState) takeRetained() *retained {
	if n := len(ls.freeRetained); n > 0 {
		r := ls.freeRetained[n-1]
		ls.freeRetained[n-1] = nil
		ls.freeRetained = ls.freeRetained[:n-1]
		return r
	}
	return &retained{}
}
