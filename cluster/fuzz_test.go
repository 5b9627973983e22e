package cluster

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/redrtc/redrtc/proto"
)

// FuzzRecords feeds the decoder of relay batches from other nodes any
// bytes: it never panics, and a batch it reads whole is exactly the batch
// its records, written again, make.
func FuzzRecords(f *testing.F) {
	o := &outbox{owner: &outboxes{wakeCh: make(chan struct{}, 1)}}
	o.add(proto.ClientID{1}, "room", []byte(`{"event":"offer"}`))
	o.add(proto.ClientID{2}, "", nil)
	f.Add(o.buf)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		again := &outbox{owner: &outboxes{wakeCh: make(chan struct{}, 1)}}
		ok := records(b, func(to proto.ClientID, room, frame []byte) {
			again.add(to, string(room), frame)
		})
		if ok && !bytes.Equal(again.buf, b) {
			t.Fatalf("read %x, wrote back %x", b, again.buf)
		}
	})
}

// FuzzDecodeRoom feeds the decoder of the bucket's values any bytes: it
// never panics, and what it reads encodes to a value that reads the same.
func FuzzDecodeRoom(f *testing.F) {
	f.Add([]byte(`{"name":"\"r\"","members":[{"id":"1b4e28ba-2fa1-41d2-883f-0016d3cca427","node":"n1"}]}`))
	f.Add([]byte(`{"members":[]}`))
	f.Add([]byte(`{"members":[{"id":"x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeRoom(b)
		if err != nil {
			return
		}
		w, err := decodeRoom(v.encode())
		if err != nil {
			t.Fatalf("%s: its own encoding does not decode: %v", b, err)
		}
		if len(w.Members) != len(v.Members) || !sameJSON(w.Name, v.Name) {
			t.Fatalf("%s read %+v, then %+v", b, v, w)
		}
	})
}

// sameJSON reports whether a and b are the same JSON but for spaces.
func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
