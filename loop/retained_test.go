package loop

import (
	"bytes"
	"strconv"
	"testing"
)

// TestRetentionBounds: a session keeps at most 64 events and 64 KiB, the
// newest, and counts the rest in base; an ack trims exactly what it covers.
func TestRetentionBounds(t *testing.T) {
	ls := &loopState{srv: &Server{}}
	frameOf := func(seq, size int) []byte {
		f := bytes.Repeat([]byte{'x'}, size)
		copy(f, strconv.Itoa(seq)+":")
		return f
	}
	kept := func(s *session, after uint64) (seqs []string) {
		s.each(after, func(f []byte) { seqs = append(seqs, string(f[:bytes.IndexByte(f, ':')])) })
		return seqs
	}

	s := &session{}
	for seq := 1; seq <= 70; seq++ {
		s.retain(ls, frameOf(seq, 16))
	}
	if got := kept(s, 0); s.base != 6 || len(got) != 64 || got[0] != "7" || got[63] != "70" {
		t.Fatalf("70 small events: base %d, kept %v", s.base, got)
	}
	if got := kept(s, 60); len(got) != 10 || got[0] != "61" {
		t.Fatalf("after 60: %v", got)
	}
	s.trim(ls, 65)
	if got := kept(s, 0); s.base != 65 || len(got) != 5 || got[0] != "66" {
		t.Fatalf("acked 65: base %d, kept %v", s.base, got)
	}
	s.trim(ls, 70)
	if s.ret != nil || len(ls.freeRetained) != 1 {
		t.Fatalf("acked everything: buffer %v, %d free", s.ret, len(ls.freeRetained))
	}

	s = &session{base: 70}
	for seq := 71; seq <= 75; seq++ {
		s.retain(ls, frameOf(seq, 20<<10))
	}
	if got := kept(s, 70); s.base != 72 || len(got) != 3 || got[0] != "73" {
		t.Fatalf("20 KiB events: base %d, kept %v", s.base, got)
	}
	s.retain(ls, frameOf(76, 100<<10)) // larger than the bound: kept alone
	if got := kept(s, 0); s.base != 75 || len(got) != 1 || got[0] != "76" {
		t.Fatalf("a 100 KiB event: base %d, kept %v", s.base, got)
	}
	s.end(ls)
	if s.ret != nil || ls.srv.retainedFreed.Load() != 1 {
		t.Fatalf("ended: buffer %v, %d freed", s.ret, ls.srv.retainedFreed.Load())
	}
}

// TestRelayToAnAckingClientDoesNotAllocate: relaying to a resumable client,
// which retains each event until the client acks it, allocates nothing
// once warm either: its buffer goes back to the loop at each ack and comes
// back for the next event.
func TestRelayToAnAckingClientDoesNotAllocate(t *testing.T) {
	d := newDetached(t)
	from, to := d.conn(t), d.conn(t)
	d.join(t, from, "r")
	d.join(t, to, "r")
	acks := make([][]byte, 600)
	for i := range acks {
		acks[i] = maskedText(`{"event":"ack","data":{"seq":` + strconv.FormatUint(to.seq+uint64(i), 10) + `}}`)
	}
	to.frames(acks[0])
	if to.sess == nil {
		t.Fatal("the ack did not make the session resumable")
	}
	send := offerSender(from, to)
	relayed := 0
	allocs := testing.AllocsPerRun(500, func() {
		send()
		if out := d.takeOutput(to); bytes.HasSuffix(out, []byte(`,"seq":`+strconv.FormatUint(to.seq, 10)+`}`)) {
			relayed++
		}
		if to.sess.ret == nil || to.sess.ret.n() != 1 {
			t.Fatalf("retained %v, want the offer", to.sess.ret)
		}
		to.frames(acks[relayed])
	})
	if relayed != 501 {
		t.Fatalf("relayed %d of 501 offers with their seq", relayed)
	}
	if allocs != 0 {
		t.Fatalf("relaying to an acking client allocates %.1f times per message", allocs)
	}
}
