package main

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"runtime/metrics"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

const (
	subprotocol  = "webrtc-signaling"
	roomCapacity = 6
	// maxMessage is the largest message accepted, as in RedRTC.
	maxMessage = 64 << 10
	// sendQueue is how many frames may wait for a client's writer.
	sendQueue = 64
	// writeTimeout bounds one flush to a client that stopped reading.
	writeTimeout = 10 * time.Second
)

type config struct {
	clients int
	rooms   int
	timeout time.Duration
	verbose bool
	log     *log.Logger
}

// server holds every client and room under one mutex.
type server struct {
	cfg      config
	upgrader ws.HTTPUpgrader

	mu      sync.Mutex
	clients map[string]*client
	rooms   map[string]*room
}

type room struct {
	id      string
	name    string
	members []*client // join order
}

// client is one connection. Its reader runs on the net/http connection
// goroutine; its writer is a goroutine of its own fed by send.
type client struct {
	id   string
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer

	send chan frame
	// quit tells the writer to stop; writerDone is closed when it has.
	quit       chan struct{}
	writerDone chan struct{}

	room *room // guarded by server.mu
}

// frame is one outgoing WebSocket frame; last closes the connection after it.
type frame struct {
	op      ws.OpCode
	payload []byte
	last    bool
}

func newServer(cfg config) *server {
	s := &server{
		cfg:     cfg,
		clients: make(map[string]*client),
		rooms:   make(map[string]*room),
	}
	s.upgrader = ws.HTTPUpgrader{
		Protocol: func(p string) bool { return p == subprotocol },
	}
	return s
}

// ServeHTTP upgrades WebSocket requests on any path, answers GET /healthz,
// and tells everything else 426.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") == "" {
		if r.Method == http.MethodGet && r.URL.Path == "/healthz" {
			s.mu.Lock()
			body, _ := json.Marshal(struct {
				Status    string `json:"status"`
				Clients   int    `json:"clients"`
				Rooms     int    `json:"rooms"`
				HeapBytes uint64 `json:"heapBytes"`
			}{"ok", len(s.clients), len(s.rooms), heapBytes()})
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(append(body, '\n'))
			return
		}
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "this is a WebSocket endpoint", http.StatusUpgradeRequired)
		return
	}
	conn, rw, _, err := s.upgrader.Upgrade(r, w)
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		s.debugf("handshake rejected: %v", err)
		return
	}
	c := &client{
		conn:       conn,
		br:         rw.Reader,
		bw:         rw.Writer,
		send:       make(chan frame, sendQueue),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	go c.writeLoop()
	s.serve(c)
}

// serve registers the client, reads its frames until the connection ends,
// then unregisters it.
func (s *server) serve(c *client) {
	if !s.register(c) {
		s.sendError(c, "server-full", "the server is full; try again later", "")
		c.closeWith(1013, "server full")
		s.finish(c, true)
		return
	}
	closing := s.readLoop(c)
	s.unregister(c)
	s.finish(c, closing)
}

// finish stops the writer. When a last frame (a close) was queued, the writer
// is given a moment to send it; it closes the connection itself.
func (s *server) finish(c *client, lastQueued bool) {
	if lastQueued {
		select {
		case <-c.writerDone:
		case <-time.After(time.Second):
		}
	}
	close(c.quit)
	<-c.writerDone
}

// register admits c under the client limit and queues its client-id.
func (s *server) register(c *client) bool {
	id := newUUID()
	s.mu.Lock()
	if len(s.clients) >= s.cfg.clients {
		s.mu.Unlock()
		return false
	}
	c.id = id
	s.clients[id] = c
	s.mu.Unlock()
	s.emit(c, "client-id", struct {
		ClientID string `json:"clientId"`
	}{id})
	return true
}

// unregister takes c out of its room and the client table.
func (s *server) unregister(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leaveLocked(c)
	delete(s.clients, c.id)
}

// closeAll closes every connection, for shutdown.
func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		_ = c.conn.Close()
	}
}

func (s *server) debugf(format string, args ...any) {
	if s.cfg.verbose {
		s.cfg.log.Printf(format, args...)
	}
}

// ---- writing ----

// enqueue hands f to c's writer, waiting while its queue is full; it gives up
// only when the writer has stopped.
func (c *client) enqueue(f frame) {
	select {
	case c.send <- f:
	case <-c.writerDone:
	}
}

// closeWith queues a close frame after which the writer closes the connection.
func (c *client) closeWith(code ws.StatusCode, reason string) {
	c.enqueue(frame{op: ws.OpClose, payload: ws.NewCloseFrameBody(code, reason), last: true})
}

// writeLoop writes queued frames, flushing once per burst, until told to quit,
// a write fails, or a last frame went out.
func (c *client) writeLoop() {
	defer close(c.writerDone)
	defer c.conn.Close()
	for {
		select {
		case <-c.quit:
			return
		case f := <-c.send:
			_ = c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			last, err := c.write(f)
			for err == nil && !last && len(c.send) > 0 {
				last, err = c.write(<-c.send)
			}
			if err == nil {
				err = c.bw.Flush()
			}
			if err != nil || last {
				return
			}
		}
	}
}

func (c *client) write(f frame) (last bool, err error) {
	h := ws.Header{Fin: true, OpCode: f.op, Length: int64(len(f.payload))}
	if err := ws.WriteHeader(c.bw, h); err != nil {
		return false, err
	}
	_, err = c.bw.Write(f.payload)
	return f.last, err
}

// emit encodes one message and queues it for c.
func (s *server) emit(c *client, event string, data any) {
	c.enqueue(frame{op: ws.OpText, payload: encode(event, data)})
}

func encode(event string, data any) []byte {
	b, err := json.Marshal(struct {
		Event string `json:"event"`
		Data  any    `json:"data"`
	}{event, data})
	if err != nil {
		panic(err) // every data type here is marshalable
	}
	return b
}

type errorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Event   string `json:"event,omitempty"`
}

func (s *server) sendError(c *client, code, message, event string) {
	s.emit(c, "error", errorData{code, message, event})
}

// ---- reading ----

var (
	errProtocol = errors.New("protocol error")
	errTooBig   = errors.New("message too big")
	errUTF8     = errors.New("invalid UTF-8")
)

// readLoop reads frames until the connection fails or ends. It reports
// whether it queued a final close frame.
func (s *server) readLoop(c *client) (closing bool) {
	var (
		buf      []byte // reused for every payload
		msg      []byte // a fragmented message being assembled
		msgOp    ws.OpCode
		deadline time.Time
	)
	for {
		// The deadline is refreshed at most once a second, not per frame.
		if now := time.Now(); deadline.Sub(now) < s.cfg.timeout-time.Second {
			deadline = now.Add(s.cfg.timeout)
			_ = c.conn.SetReadDeadline(deadline)
		}
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			return false
		}
		if code, reason := checkHeader(h, len(msg), msgOp); code != 0 {
			c.closeWith(code, reason)
			return true
		}
		if int64(cap(buf)) < h.Length {
			buf = make([]byte, h.Length)
		}
		payload := buf[:h.Length]
		if _, err := io.ReadFull(c.br, payload); err != nil {
			return false
		}
		ws.Cipher(payload, h.Mask, 0)

		switch h.OpCode {
		case ws.OpPing:
			c.enqueue(frame{op: ws.OpPong, payload: append([]byte(nil), payload...)})
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			code, reason := closeReply(payload)
			c.closeWith(code, reason)
			return true
		case ws.OpContinuation:
			msg = append(msg, payload...)
		default:
			if !h.Fin {
				msg, msgOp = append(msg[:0], payload...), h.OpCode
				continue
			}
			msg, msgOp = payload, h.OpCode
		}
		if !h.Fin {
			continue
		}
		err = s.message(c, msgOp, msg)
		msg, msgOp = nil, 0
		if err != nil {
			c.closeWith(ws.StatusInvalidFramePayloadData, "text message is not valid UTF-8")
			return true
		}
	}
}

// checkHeader validates a frame header; a non-zero code closes the connection.
func checkHeader(h ws.Header, fragmented int, fragOp ws.OpCode) (ws.StatusCode, string) {
	switch {
	case !h.Masked:
		return ws.StatusProtocolError, "client frames must be masked"
	case h.Rsv != 0:
		return ws.StatusProtocolError, "reserved bits set"
	case h.OpCode.IsReserved():
		return ws.StatusProtocolError, "unknown opcode"
	case h.OpCode.IsControl():
		if !h.Fin || h.Length > ws.MaxControlFramePayloadSize {
			return ws.StatusProtocolError, "control frames must be final and at most 125 bytes"
		}
	case h.OpCode == ws.OpContinuation:
		if fragOp == 0 {
			return ws.StatusProtocolError, "continuation frame without a message to continue"
		}
		if int64(fragmented)+h.Length > maxMessage {
			return ws.StatusMessageTooBig, "message too big"
		}
	default:
		if fragOp != 0 {
			return ws.StatusProtocolError, "new message before the fragmented one ended"
		}
		if h.Length > maxMessage {
			return ws.StatusMessageTooBig, "message too big"
		}
	}
	return 0, ""
}

// closeReply is the close frame answering the peer's close payload.
func closeReply(payload []byte) (ws.StatusCode, string) {
	if len(payload) == 0 {
		return ws.StatusNormalClosure, ""
	}
	if len(payload) < 2 {
		return ws.StatusProtocolError, "malformed close frame"
	}
	code := ws.StatusCode(binary.BigEndian.Uint16(payload))
	if !(code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999) {
		return ws.StatusProtocolError, "malformed close frame"
	}
	if !utf8.Valid(payload[2:]) {
		return ws.StatusInvalidFramePayloadData, "close reason is not valid UTF-8"
	}
	return code, ""
}

// ---- messages ----

type envelope struct {
	Event *string         `json:"event"`
	Data  json.RawMessage `json:"data"`
}

type joinData struct {
	RoomID   *string `json:"roomId"`
	RoomName *string `json:"roomName"`
}

type relayData struct {
	Target    *string         `json:"targetClientId"`
	Offer     json.RawMessage `json:"offer"`
	Answer    json.RawMessage `json:"answer"`
	Candidate json.RawMessage `json:"candidate"`
}

type relayOut struct {
	From      string          `json:"fromClientId"`
	Offer     json.RawMessage `json:"offer,omitempty"`
	Answer    json.RawMessage `json:"answer,omitempty"`
	Candidate json.RawMessage `json:"candidate,omitempty"`
}

type roomData struct {
	RoomID       string   `json:"roomId"`
	RoomName     string   `json:"roomName"`
	Participants []string `json:"participants"`
}

type participantsData struct {
	RoomID       string   `json:"roomId"`
	Participants []string `json:"participants"`
}

type roomLeftData struct {
	RoomID string `json:"roomId"`
}

type roomCreatedData struct {
	RoomID   string `json:"roomId"`
	RoomName string `json:"roomName"`
}

// message handles one complete data message.
func (s *server) message(c *client, op ws.OpCode, p []byte) error {
	if op == ws.OpBinary {
		s.sendError(c, "bad-request", "binary messages are not supported; send JSON text", "")
		return nil
	}
	if !utf8.Valid(p) {
		return errUTF8
	}
	var env envelope
	if err := json.Unmarshal(p, &env); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			s.sendError(c, "bad-json", "message is not valid JSON", "")
		} else if firstByte(p) != '{' {
			s.sendError(c, "bad-request", "message must be a JSON object", "")
		} else {
			s.sendError(c, "bad-request", "event must be a string", "")
		}
		return nil
	}
	if env.Event == nil {
		s.sendError(c, "bad-request", "event is missing", "")
		return nil
	}
	event := *env.Event
	switch event {
	case "join-room", "leave-room", "offer", "answer", "ice-candidate", "ping":
	default:
		s.sendError(c, "unknown-event", "unknown event", "")
		return nil
	}
	data := env.Data
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	} else if data[0] != '{' {
		s.sendError(c, "bad-request", "data must be a JSON object", event)
		return nil
	}
	switch event {
	case "ping":
		s.emit(c, "pong", struct{}{})
	case "join-room":
		s.handleJoin(c, data)
	case "leave-room":
		s.handleLeave(c)
	default:
		s.handleRelay(c, event, data)
	}
	return nil
}

func firstByte(p []byte) byte {
	for _, b := range p {
		switch b {
		case ' ', '\t', '\r', '\n':
		default:
			return b
		}
	}
	return 0
}

func (s *server) handleJoin(c *client, data []byte) {
	var d joinData
	if err := json.Unmarshal(data, &d); err != nil {
		s.sendError(c, "bad-request", "roomId and roomName must be strings", "join-room")
		return
	}
	var id string
	if d.RoomID != nil {
		if !validRoomID(*d.RoomID) {
			s.sendError(c, "bad-request", "roomId must be a string of 1-64 characters from A-Z a-z 0-9 _ . : -", "join-room")
			return
		}
		id = *d.RoomID
	} else {
		id = newUUID()
	}
	name := id
	if d.RoomName != nil {
		if utf8.RuneCountInString(*d.RoomName) > 64 {
			s.sendError(c, "bad-request", "roomName must be a string of at most 64 characters", "join-room")
			return
		}
		name = *d.RoomName
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.leaveLocked(c)
	r := s.rooms[id]
	created := false
	if r == nil {
		if len(s.rooms) >= s.cfg.rooms {
			s.sendError(c, "room-limit", "the server has reached its room limit", "join-room")
			return
		}
		r = &room{id: id, name: name}
		s.rooms[id] = r
		created = true
	}
	if len(r.members) >= roomCapacity {
		s.sendError(c, "room-full", "the room already has 6 participants", "join-room")
		return
	}
	r.members = append(r.members, c)
	c.room = r
	ids := r.ids()
	if created {
		s.emit(c, "room-created", roomCreatedData{r.id, r.name})
	}
	s.emit(c, "room-joined", roomData{r.id, r.name, ids})
	s.announceLocked(r, ids)
}

func (s *server) handleLeave(c *client) {
	s.mu.Lock()
	r := s.leaveLocked(c)
	s.mu.Unlock()
	if r == nil {
		s.sendError(c, "not-in-room", "you are not in a room", "leave-room")
		return
	}
	s.emit(c, "room-left", roomLeftData{r.id})
}

// leaveLocked takes c out of its room, tells the members who remain and
// deletes the room when it empties. It returns the room c left, or nil.
func (s *server) leaveLocked(c *client) *room {
	r := c.room
	if r == nil {
		return nil
	}
	c.room = nil
	for i, m := range r.members {
		if m == c {
			r.members = append(r.members[:i], r.members[i+1:]...)
			break
		}
	}
	if len(r.members) == 0 {
		delete(s.rooms, r.id)
	} else {
		s.announceLocked(r, r.ids())
	}
	return r
}

// announceLocked sends one participants message to every member. The mutex
// is held, so every member sees the room's changes in the same order.
func (s *server) announceLocked(r *room, ids []string) {
	msg := frame{op: ws.OpText, payload: encode("participants", participantsData{r.id, ids})}
	for _, m := range r.members {
		m.enqueue(msg)
	}
}

func (r *room) ids() []string {
	ids := make([]string, len(r.members))
	for i, m := range r.members {
		ids[i] = m.id
	}
	return ids
}

func (s *server) handleRelay(c *client, event string, data []byte) {
	var d relayData
	if err := json.Unmarshal(data, &d); err != nil || d.Target == nil {
		s.sendError(c, "bad-request", "targetClientId must be a client id string", event)
		return
	}
	if !validUUID(*d.Target) {
		s.sendError(c, "bad-request", "targetClientId is not a valid client id", event)
		return
	}
	out := relayOut{From: c.id}
	var payload json.RawMessage
	switch event {
	case "offer":
		payload, out.Offer = d.Offer, d.Offer
	case "answer":
		payload, out.Answer = d.Answer, d.Answer
	default:
		payload, out.Candidate = d.Candidate, d.Candidate
	}
	if len(payload) == 0 || string(payload) == "null" {
		what := map[string]string{"offer": "offer", "answer": "answer", "ice-candidate": "candidate"}[event]
		s.sendError(c, "bad-request", what+" is missing", event)
		return
	}

	s.mu.Lock()
	inRoom := c.room != nil
	target := s.clients[strings.ToLower(*d.Target)]
	shared := inRoom && target != nil && target.room == c.room
	s.mu.Unlock()
	switch {
	case !inRoom:
		s.sendError(c, "not-in-room", "join a room first", event)
	case !shared:
		s.sendError(c, "target-not-found", "no such client in your room", event)
	default:
		s.emit(target, event, out)
	}
}

// ---- ids ----

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func validRoomID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '.', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// heapBytes reads the bytes of live and not yet swept heap objects, the
// figure RedRTC's /healthz reports, so the benchmark compares like with like.
func heapBytes() uint64 {
	sample := [1]metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample[:])
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}
