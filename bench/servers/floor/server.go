package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"
	"github.com/panjf2000/gnet/v2"
)

// client is one connection's state, in its gnet context. It is owned by the
// connection's event loop, but for room, guarded by server.mu, and id, which
// other loops read under server.mu once the client is in a room (it is
// written before that, at the upgrade, and never again).
type client struct {
	c    gnet.Conn
	el   gnet.EventLoop
	up   bool
	id   [36]byte
	room *room
}

type room struct {
	name    string
	n       int
	members [6]*client
}

// server keeps every room under one mutex.
type server struct {
	gnet.BuiltinEventEngine
	mu      sync.Mutex
	rooms   map[string]*room
	clients atomic.Int64
	bufs    sync.Pool // *[]byte scratch for one outgoing frame
}

func newServer() *server {
	return &server{
		rooms: make(map[string]*room),
		bufs:  sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }},
	}
}

func (s *server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	c.SetContext(&client{c: c, el: c.EventLoop()})
	return nil, gnet.None
}

func (s *server) OnClose(c gnet.Conn, _ error) gnet.Action {
	cl := c.Context().(*client)
	s.mu.Lock()
	s.leaveLocked(cl)
	s.mu.Unlock()
	if cl.up {
		s.clients.Add(-1)
	}
	return gnet.None
}

func (s *server) OnTraffic(c gnet.Conn) gnet.Action {
	cl := c.Context().(*client)
	for {
		buf, _ := c.Peek(-1)
		if len(buf) == 0 {
			return gnet.None
		}
		if !cl.up {
			end := bytes.Index(buf, []byte("\r\n\r\n"))
			if end < 0 {
				return gnet.None
			}
			if act := s.upgrade(cl, buf[:end+4]); act != gnet.None {
				return act
			}
			_, _ = c.Discard(end + 4)
			continue
		}
		op, payload, n, ok := frame(buf)
		if !ok {
			return gnet.None
		}
		switch op {
		case ws.OpClose, 0xff:
			return gnet.Close
		case ws.OpText:
			s.message(cl, payload)
		}
		_, _ = c.Discard(n)
	}
}

// frame unmasks the first whole frame in buf and returns its opcode, its
// payload and its length on the wire; 0xff marks one the floor does not read.
func frame(buf []byte) (op ws.OpCode, payload []byte, n int, ok bool) {
	if len(buf) < 2 {
		return 0, nil, 0, false
	}
	op = ws.OpCode(buf[0] & 0x0f)
	length, hl := int(buf[1]&0x7f), 2
	switch length {
	case 126:
		if len(buf) < 4 {
			return 0, nil, 0, false
		}
		length, hl = int(buf[2])<<8|int(buf[3]), 4
	case 127:
		return 0xff, nil, 0, true
	}
	masked := buf[1]&0x80 != 0
	var mask [4]byte
	if masked {
		if len(buf) < hl+4 {
			return 0, nil, 0, false
		}
		copy(mask[:], buf[hl:hl+4])
		hl += 4
	}
	if len(buf) < hl+length {
		return 0, nil, 0, false
	}
	payload = buf[hl : hl+length]
	if masked {
		ws.Cipher(payload, mask, 0)
	}
	return op, payload, hl + length, true
}

const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// upgrade answers the request in req: /healthz, or a WebSocket upgrade
// followed by the client's id.
func (s *server) upgrade(cl *client, req []byte) gnet.Action {
	if bytes.HasPrefix(req, []byte("GET /healthz ")) {
		s.health(cl.c)
		return gnet.Close
	}
	const keyHeader = "\r\nSec-WebSocket-Key: "
	i := bytes.Index(req, []byte(keyHeader))
	if i < 0 {
		_, _ = cl.c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
		return gnet.Close
	}
	key := req[i+len(keyHeader):]
	key = key[:bytes.IndexByte(key, '\r')]
	h := sha1.New()
	h.Write(key)
	h.Write([]byte(acceptGUID))
	var sum [sha1.Size]byte
	var accept [28]byte
	base64.StdEncoding.Encode(accept[:], h.Sum(sum[:0]))
	newID(&cl.id)

	bp := s.bufs.Get().(*[]byte)
	b := append((*bp)[:0], "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = append(b, accept[:]...)
	b = append(b, "\r\n\r\n"...)
	b = appendText(b, `{"event":"client-id","data":{"clientId":"`, string(cl.id[:]), `"}}`)
	_, _ = cl.c.Write(b)
	*bp = b
	s.bufs.Put(bp)
	cl.up = true
	s.clients.Add(1)
	return gnet.None
}

func (s *server) health(c gnet.Conn) {
	sample := [1]metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample[:])
	s.mu.Lock()
	rooms := len(s.rooms)
	s.mu.Unlock()
	body := fmt.Sprintf(`{"status":"ok","clients":%d,"rooms":%d,"heapBytes":%d}`, s.clients.Load(), rooms, sample[0].Value.Uint64())
	_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body))
}

// newID writes a random id in the 8-4-4-4-12 shape of a UUID (without its
// version and variant bits: nothing here reads them).
func newID(id *[36]byte) {
	var r [16]byte
	_, _ = rand.Read(r[:])
	var x [32]byte
	hex.Encode(x[:], r[:])
	copy(id[0:8], x[0:8])
	copy(id[9:13], x[8:12])
	copy(id[14:18], x[12:16])
	copy(id[19:23], x[16:20])
	copy(id[24:36], x[20:32])
	id[8], id[13], id[18], id[23] = '-', '-', '-', '-'
}

// appendText appends one unmasked text frame holding the parts.
func appendText(dst []byte, parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	dst = appendHeader(dst, n)
	for _, p := range parts {
		dst = append(dst, p...)
	}
	return dst
}

// appendHeader appends the header of an unmasked text frame of n bytes.
func appendHeader(dst []byte, n int) []byte {
	switch {
	case n < 126:
		return append(dst, 0x81, byte(n))
	case n <= 0xffff:
		return append(dst, 0x81, 126, byte(n>>8), byte(n))
	default:
		return append(dst, 0x81, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}
