// Package loadclient is the client side of the benchmark, run in worker
// processes: an event-driven WebSocket client on raw epoll. A worker process
// runs a few pollers, each one goroutine with its own epoll instance owning
// its clients outright, so that tens of thousands of clients cost a few
// threads and about a kilobyte each, not two goroutines each. Frames are
// built and parsed in place; only control messages (client-id,
// participants, ...) go through encoding/json.
package loadclient

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/redrtc/redrtc/bench/internal/ipc"
	"golang.org/x/sys/unix"
)

// Connection states.
const (
	stIdle       uint8 = iota // not started
	stConnecting              // TCP connect in progress
	stHandshake               // upgrade request sent
	stOpen                    // WebSocket open
	stClosing                 // close frame sent, waiting for the server's
	stClosed                  // descriptor closed
)

const (
	readBufSize   = 64 << 10
	maxFrameBytes = 16 << 20
	maxHeaderResp = 16 << 10
	wsGUID        = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)

// client is one client connection, owned by its poller.
type client struct {
	fd       int
	state    uint8
	writable bool
	// flags for counting each client once per step
	ready    bool // has its client-id
	complete bool // has seen its whole room in participants
	left     bool // got room-left
	failed   bool // counted as failed in the current step
	stepDone bool // counted as done in the current step

	idx  int   // index in poller.clients (or in the pair)
	src  int   // source address index
	node uint8 // the cluster node it connects to (0 for one server)
	key  [24]byte
	id   []byte // client id, 36 bytes
	in   []byte // unconsumed input
	out  []byte // unsent output
	frag []byte // fragmented message being assembled

	room *room
	pos  int      // index in room.members, in the server's join order
	view []string // last participants list seen

	// relay bookkeeping
	k       uint32
	targets []uint8 // positions of the room-mates it sends to (layout.Targets)
	sendSeq [roomCap]uint32
	seen    [roomCap][]uint64

	pair *pair // churn only
	role int

	dirty bool // has output queued for the end of the round

	// acking (ack.go): whether the server gave a resume token, the last
	// seq received and acked, and when an ack falls due (unix ns; 0: none)
	acks           bool
	lastSeq, acked uint64
	ackDue         int64
	// resuming (resume.go): the session's token, and whether the client
	// waits for the pong before its drop or is resuming since dropNs
	token                string
	dropWanted, resuming bool
	dropNs               int64
}

const roomCap = 6

type room struct {
	name     string
	members  []*client // planned members that connected; reordered to the server's order
	expected int
}

// poller is one event loop: a goroutine and its epoll instance, owning its
// clients outright.
type poller struct {
	id    int
	w     *worker
	epfd  int
	evfd  int
	evbuf [8]byte
	evs   []unix.EpollEvent
	byFD  []*client
	rbuf  []byte
	enc   []byte
	rng   uint64
	now   time.Time

	cmdMu sync.Mutex
	cmds  []*task
	task  *task

	dirty []*client // connections with queued output (see queue)
	// ackPending lists the clients with an ack due (ack.go)
	ackPending []*client
	clients    []*client // long-lived clients (idle, relay)
	first      int       // index of clients[0] among the worker's clients
	rooms      []*room
	byID       map[string]*client
	// src and dsts are this poller's own copies of the worker's addresses:
	// Bind and Connect write into the Sockaddr they are given, so pollers
	// must not share them.
	src  []unix.SockaddrInet4
	dsts []unix.SockaddrInet4

	st  stepState
	rs  relayState
	rsm resumeState
	cs  churnState
}

// task is one step a poller runs to completion, then reports.
type task struct {
	cmd    ipc.Command
	result chan<- pollerResult
}

// pollerResult is one poller's share of a Report.
type pollerResult struct {
	rep ipc.Report
}

// stepState counts progress through connect, join, leave and close.
type stepState struct {
	op       string
	start    time.Time
	deadline time.Time
	next     int // next client to start (connect)
	pending  int // connecting, not yet ready
	done     int
	failed   int
	total    int
	reasons  map[string]int
	errs     map[string]int // error events by code
	lastDone time.Time
}

func newLoop(w *worker, id int) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}); err != nil {
		return nil, fmt.Errorf("epoll_ctl: %w", err)
	}
	l := &poller{
		id:   id,
		w:    w,
		epfd: epfd,
		evfd: evfd,
		evs:  make([]unix.EpollEvent, 512),
		rbuf: make([]byte, readBufSize),
		enc:  make([]byte, 0, 8192),
		rng:  uint64(time.Now().UnixNano()) | 1,
		byID: make(map[string]*client),
		src:  slices.Clone(w.src),
		dsts: slices.Clone(w.dsts),
	}
	l.rng ^= uint64(id+1) * 0x9E3779B97F4A7C15
	return l, nil
}

// submit hands a task to the poller from another goroutine.
func (l *poller) submit(t *task) {
	l.cmdMu.Lock()
	l.cmds = append(l.cmds, t)
	l.cmdMu.Unlock()
	var one [8]byte
	binary.LittleEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(l.evfd, one[:])
}

func (l *poller) run() {
	for {
		timeout := l.ackWait(l.waitMillis())
		n, err := unix.EpollWait(l.epfd, l.evs, timeout)
		if err != nil && !errors.Is(err, unix.EINTR) {
			panic(fmt.Sprintf("epoll_wait: %v", err))
		}
		l.now = time.Now()
		for i := 0; i < n; i++ {
			ev := l.evs[i]
			fd := int(ev.Fd)
			if fd == l.evfd {
				_, _ = unix.Read(l.evfd, l.evbuf[:])
				if l.takeCommands() {
					return
				}
				continue
			}
			if fd < len(l.byFD) {
				if c := l.byFD[fd]; c != nil {
					l.handle(c, ev.Events)
				}
			}
		}
		if l.task != nil {
			l.progress()
		}
		l.ackOverdue()
	}
}

// takeCommands starts a queued task; it reports true when told to exit.
func (l *poller) takeCommands() bool {
	l.cmdMu.Lock()
	cmds := l.cmds
	l.cmds = nil
	l.cmdMu.Unlock()
	for _, t := range cmds {
		if t.cmd.Op == "exit" {
			l.closeAll()
			t.result <- pollerResult{}
			return true
		}
		l.start(t)
	}
	return false
}

// waitMillis is how long epoll_wait may sleep.
func (l *poller) waitMillis() int {
	if l.task == nil {
		return -1
	}
	switch l.task.cmd.Op {
	case "relay":
		if l.rs.sending && l.rs.rate == 0 && l.rs.inflight < l.rs.window {
			return 0
		}
		return int(sendTick / time.Millisecond)
	case "churn":
		return 5
	case "connect":
		return 5
	}
	return 10
}

// ---- connections ----

func (l *poller) register(c *client) {
	for c.fd >= len(l.byFD) {
		n := max(1024, 2*len(l.byFD))
		grown := make([]*client, n)
		copy(grown, l.byFD)
		l.byFD = grown
	}
	l.byFD[c.fd] = c
}

// dial starts a non-blocking connect from source address c.src.
func (l *poller) dial(c *client) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	if len(l.src) > 0 {
		// Let connect pick the port, so that the port space is per
		// (source, destination) pair, not per source address.
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		if err := unix.Bind(fd, &l.src[c.src%len(l.src)]); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind: %w", err)
		}
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if err := unix.Connect(fd, &l.dsts[c.node]); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		return fmt.Errorf("connect: %w", err)
	}
	c.fd = fd
	c.state = stConnecting
	c.writable = false
	c.in, c.out, c.frag = c.in[:0], c.out[:0], nil
	c.id = c.id[:0]
	c.ready, c.complete, c.left = false, false, false
	l.register(c)
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.byFD[fd] = nil
		unix.Close(fd)
		c.state = stClosed
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// closeConn closes c's descriptor.
func (l *poller) closeConn(c *client) {
	if c.state == stClosed || c.state == stIdle {
		c.state = stClosed
		return
	}
	if c.fd < len(l.byFD) && l.byFD[c.fd] == c {
		l.byFD[c.fd] = nil
	}
	unix.Close(c.fd)
	c.fd = -1
	c.state = stClosed
	if cap(c.in) > readBufSize {
		c.in = nil
	}
	if cap(c.out) > readBufSize {
		c.out = nil
	}
}

func (l *poller) closeAll() {
	for _, c := range l.byFD {
		if c != nil {
			l.closeConn(c)
		}
	}
}

// handle reacts to one epoll event.
func (l *poller) handle(c *client, events uint32) {
	if c.state == stConnecting {
		if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		soerr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && soerr != 0 {
			err = unix.Errno(soerr)
		}
		if err != nil {
			l.connFailed(c, "connect: "+errText(err))
			return
		}
		c.state = stHandshake
		c.writable = true
		l.sendUpgrade(c)
	}
	if events&unix.EPOLLOUT != 0 && c.state != stClosed {
		c.writable = true
		l.flush(c)
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 && c.state != stClosed {
		l.readable(c, events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0)
	}
}

func errText(err error) string {
	var en unix.Errno
	if errors.As(err, &en) {
		return unix.ErrnoName(en)
	}
	return err.Error()
}

// write sends b now if it can and buffers what it cannot.
func (l *poller) write(c *client, b []byte) {
	if c.state == stClosed {
		return
	}
	if len(c.out) > 0 || !c.writable {
		c.out = append(c.out, b...)
		return
	}
	for len(b) > 0 {
		n, err := unix.Write(c.fd, b)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.EAGAIN) {
				c.writable = false
				break
			}
			l.connLost(c, "write: "+errText(err))
			return
		}
		b = b[n:]
	}
	if len(b) > 0 {
		c.out = append(c.out, b...)
	}
}

// queue appends b to c's output, to be written with whatever else c gets
// this round by flushDirty: one write per connection per round, as a busy
// client's socket would coalesce them anyway.
func (l *poller) queue(c *client, b []byte) {
	if c.state == stClosed {
		return
	}
	c.out = append(c.out, b...)
	if !c.dirty {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

// flushDirty writes every connection's queued output.
func (l *poller) flushDirty() {
	for i, c := range l.dirty {
		c.dirty = false
		if c.state != stClosed && c.writable {
			l.flush(c)
		}
		l.dirty[i] = nil
	}
	l.dirty = l.dirty[:0]
}

func (l *poller) flush(c *client) {
	for len(c.out) > 0 {
		n, err := unix.Write(c.fd, c.out)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.EAGAIN) {
				c.writable = false
				return
			}
			l.connLost(c, "write: "+errText(err))
			return
		}
		c.out = c.out[n:]
	}
	c.out = c.out[:0:cap(c.out)]
	if cap(c.out) > readBufSize {
		c.out = nil
	}
}

// readable reads everything the socket has and handles it. A short read
// means the socket is drained, unless the peer has closed (hup): then the
// end of the stream arrived with this edge, behind the data, and no other
// edge will report it, so reading goes on until it is seen.
func (l *poller) readable(c *client, hup bool) {
	for c.state != stClosed {
		n, err := unix.Read(c.fd, l.rbuf)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.EAGAIN) {
				return
			}
			l.connLost(c, "read: "+errText(err))
			return
		}
		if n == 0 {
			l.connEOF(c)
			return
		}
		data := l.rbuf[:n]
		if len(c.in) > 0 {
			c.in = append(c.in, data...)
			data = c.in
		}
		used := l.process(c, data)
		if c.state == stClosed {
			return
		}
		rest := data[used:]
		switch {
		case len(rest) == 0:
			c.in = c.in[:0]
		case len(c.in) > 0:
			c.in = c.in[:copy(c.in, rest)]
		default:
			c.in = append(c.in[:0], rest...)
		}
		if n < len(l.rbuf) && !hup {
			return // drained; edge-triggered epoll reports new data
		}
	}
}

// ---- handshake ----

func (l *poller) sendUpgrade(c *client) {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], l.rand())
	binary.LittleEndian.PutUint64(raw[8:], l.rand())
	base64.StdEncoding.Encode(c.key[:], raw[:])
	b := l.enc[:0]
	b = append(b, "GET "...)
	b = append(b, l.w.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, l.w.hosts[c.node]...)
	b = append(b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	b = append(b, c.key[:]...)
	b = append(b, "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: webrtc-signaling\r\n\r\n"...)
	l.enc = b
	l.write(c, b)
}

var (
	crlfcrlf     = []byte("\r\n\r\n")
	acceptHeader = []byte("\r\nsec-websocket-accept:")
)

// checkUpgrade checks the upgrade response headers in hdr; it returns what
// is wrong, or "".
func (c *client) checkUpgrade(hdr []byte) string {
	if !bytes.HasPrefix(hdr, []byte("HTTP/1.1 101")) {
		line, _, _ := bytes.Cut(hdr, []byte("\r\n"))
		return "upgrade refused: " + string(line)
	}
	lower := bytes.ToLower(hdr)
	i := bytes.Index(lower, acceptHeader)
	if i < 0 {
		return "upgrade: no Sec-WebSocket-Accept"
	}
	v := hdr[i+len(acceptHeader):]
	if j := bytes.Index(v, []byte("\r\n")); j >= 0 {
		v = v[:j]
	}
	v = bytes.TrimSpace(v)
	h := sha1.New()
	h.Write(c.key[:])
	h.Write([]byte(wsGUID))
	want := base64.StdEncoding.EncodeToString(h.Sum(nil))
	if string(v) != want {
		return "upgrade: wrong Sec-WebSocket-Accept"
	}
	return ""
}

// ---- frames ----

// process handles the complete frames at the start of d and returns the
// bytes consumed.
func (l *poller) process(c *client, d []byte) int {
	off := 0
	if c.state == stHandshake {
		end := bytes.Index(d, crlfcrlf)
		if end < 0 {
			if len(d) > maxHeaderResp {
				l.connLost(c, "upgrade: response headers too large")
			}
			return 0
		}
		if problem := c.checkUpgrade(d[:end+2]); problem != "" {
			l.connFailed(c, problem)
			return len(d)
		}
		c.state = stOpen
		off = end + 4
	}
	for c.state == stOpen || c.state == stClosing {
		rest := d[off:]
		if len(rest) < 2 {
			break
		}
		b0, b1 := rest[0], rest[1]
		hl := 2
		n := uint64(b1 & 0x7f)
		switch n {
		case 126:
			if len(rest) < 4 {
				return off
			}
			n = uint64(binary.BigEndian.Uint16(rest[2:]))
			hl = 4
		case 127:
			if len(rest) < 10 {
				return off
			}
			n = binary.BigEndian.Uint64(rest[2:])
			hl = 10
		}
		masked := b1&0x80 != 0
		if masked {
			hl += 4
		}
		if n > maxFrameBytes {
			l.connLost(c, "frame too large")
			return len(d)
		}
		if uint64(len(rest)) < uint64(hl)+n {
			break
		}
		payload := rest[hl : uint64(hl)+n]
		if masked {
			var key [4]byte
			copy(key[:], rest[hl-4:hl])
			ws.Cipher(payload, key, 0)
		}
		off += hl + int(n)
		l.frame(c, b0&0x80 != 0, ws.OpCode(b0&0x0f), payload)
		if c.state == stClosed {
			return len(d)
		}
	}
	return off
}

func (l *poller) frame(c *client, fin bool, op ws.OpCode, p []byte) {
	switch op {
	case ws.OpPing:
		l.sendFrame(c, ws.OpPong, p)
	case ws.OpPong:
	case ws.OpClose:
		code := 1005
		if len(p) >= 2 {
			code = int(binary.BigEndian.Uint16(p))
		}
		if c.state == stClosing {
			l.closedCleanly(c)
			return
		}
		l.sendFrame(c, ws.OpClose, p[:min(len(p), 2)])
		l.connLost(c, "closed by server: "+strconv.Itoa(code))
	case ws.OpContinuation:
		c.frag = append(c.frag, p...)
		if fin {
			msg := c.frag
			c.frag = nil
			l.message(c, msg)
		}
	default:
		if !fin {
			c.frag = append(c.frag[:0], p...)
			return
		}
		if op == ws.OpText {
			l.message(c, p)
		}
	}
}

// sendFrame writes one masked frame.
func (l *poller) sendFrame(c *client, op ws.OpCode, p []byte) {
	b := append(l.enc[:maxClientHeader], p...)
	l.enc = b
	l.write(c, l.finishFrame(b, op))
}

// maxClientHeader is the largest masked frame header.
const maxClientHeader = 14

// finishFrame masks the payload appended after maxClientHeader bytes of b,
// writes the header in front of it and returns the whole frame.
func (l *poller) finishFrame(b []byte, op ws.OpCode) []byte {
	payload := b[maxClientHeader:]
	r := l.rand()
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], uint32(r))
	ws.Cipher(payload, mask, 0)
	n := len(payload)
	var hdr [maxClientHeader]byte
	hdr[0] = 0x80 | byte(op)
	hl := 2
	switch {
	case n < 126:
		hdr[1] = 0x80 | byte(n)
	case n < 65536:
		hdr[1] = 0x80 | 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
		hl = 4
	default:
		hdr[1] = 0x80 | 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
		hl = 10
	}
	copy(hdr[hl:], mask[:])
	hl += 4
	start := maxClientHeader - hl
	copy(b[start:], hdr[:hl])
	return b[start:]
}

func (l *poller) rand() uint64 {
	// xorshift64*
	x := l.rng
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	l.rng = x
	return x * 2685821657736338717
}

// sendText sends one text message built from parts.
func (l *poller) sendText(c *client, parts ...string) {
	b := l.enc[:maxClientHeader]
	for _, p := range parts {
		b = append(b, p...)
	}
	l.enc = b
	l.write(c, l.finishFrame(b, ws.OpText))
}

// sendJoin sends join-room, with the run's room token when it has one.
func (l *poller) sendJoin(c *client, room string) {
	if tok := l.w.cfg.Token; tok != "" {
		l.sendText(c, `{"event":"join-room","data":{"roomId":"`, room, `","token":"`, tok, `"}}`)
		return
	}
	l.sendText(c, `{"event":"join-room","data":{"roomId":"`, room, `"}}`)
}

// startClose sends a close frame; the server's close frame or EOF ends it.
func (l *poller) startClose(c *client) {
	if c.state != stOpen {
		l.closeConn(c)
		return
	}
	l.sendFrame(c, ws.OpClose, []byte{0x03, 0xe8}) // 1000
	c.state = stClosing
}

// ---- messages ----

var eventPrefix = []byte(`{"event":"`)

// ctlMsg is a decoded control message.
type ctlMsg struct {
	Event string `json:"event"`
	Data  struct {
		ClientID     string   `json:"clientId"`
		ResumeToken  string   `json:"resumeToken"`
		RoomID       string   `json:"roomId"`
		Participants []string `json:"participants"`
		Code         string   `json:"code"`
		Message      string   `json:"message"`
		Event        string   `json:"event"`
		Dropped      int64    `json:"dropped"`
	} `json:"data"`
}

// eventName finds the event name without decoding when the message starts
// the usual way.
func eventName(p []byte) (string, bool) {
	if bytes.HasPrefix(p, eventPrefix) {
		rest := p[len(eventPrefix):]
		if i := bytes.IndexByte(rest, '"'); i >= 0 {
			switch string(rest[:i]) { // no allocation for these comparisons
			case "offer":
				return "offer", true
			case "answer":
				return "answer", true
			case "ice-candidate":
				return "ice-candidate", true
			case "pong":
				return "pong", true
			}
		}
	}
	return "", false
}

func (l *poller) message(c *client, p []byte) {
	l.noteSeq(c, p)
	if name, ok := eventName(p); ok {
		if name == "pong" {
			l.onPong(c)
			return
		}
		l.onRelay(c, name, p)
		return
	}
	var m ctlMsg
	if err := json.Unmarshal(p, &m); err != nil {
		l.count("malformed message from server")
		return
	}
	switch m.Event {
	case "client-id":
		if c.resuming {
			l.sendResume(c)
			return
		}
		if len(m.Data.ClientID) != 36 {
			l.count("client-id without a 36-character clientId")
			return
		}
		c.id = append(c.id[:0], m.Data.ClientID...)
		l.startAcking(c, m.Data.ResumeToken)
		l.onReady(c)
	case "room-created":
	case "room-joined":
	case "participants":
		c.view = m.Data.Participants
		l.onParticipants(c)
	case "room-left":
		l.onLeft(c)
	case "pong":
		l.onPong(c)
	case "resumed":
		l.onResumed(c, m.Data.Dropped)
	case "offer", "answer", "ice-candidate":
		l.onRelay(c, m.Event, p)
	case "error":
		if c.resuming && m.Data.Code == "resume-failed" {
			l.onResumeFailed(c)
			return
		}
		l.onError(c, m.Data.Code, m.Data.Message, m.Data.Event)
	default:
		l.count("unexpected event " + m.Event)
	}
}

// count records one anomaly by description.
func (l *poller) count(what string) {
	if l.st.reasons == nil {
		l.st.reasons = make(map[string]int)
	}
	if len(l.st.reasons) < 64 {
		l.st.reasons[what]++
	} else {
		l.st.reasons["other"]++
	}
}

// relayFields extracts the sender and the payload's seq and ts from a relayed
// message, without decoding it when it has the usual shape.
func relayFields(p []byte) (from []byte, seq, ts int64, ok bool) {
	const fromKey = `"fromClientId":"`
	i := bytes.Index(p, []byte(fromKey))
	if i >= 0 && len(p) >= i+len(fromKey)+37 && p[i+len(fromKey)+36] == '"' {
		from = p[i+len(fromKey) : i+len(fromKey)+36]
		rest := p[i+len(fromKey)+37:]
		var ok1, ok2 bool
		seq, rest, ok1 = intAfter(rest, `"seq":`)
		ts, _, ok2 = intAfter(rest, `"ts":`)
		if ok1 && ok2 {
			return from, seq, ts, true
		}
	}
	// Any other layout: decode it properly.
	var m struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if json.Unmarshal(p, &m) != nil {
		return nil, 0, 0, false
	}
	var f string
	if json.Unmarshal(m.Data["fromClientId"], &f) != nil {
		return nil, 0, 0, false
	}
	for _, key := range []string{"offer", "answer", "candidate"} {
		var v struct {
			Seq *int64 `json:"seq"`
			TS  *int64 `json:"ts"`
		}
		if raw, found := m.Data[key]; found && json.Unmarshal(raw, &v) == nil && v.Seq != nil && v.TS != nil {
			return []byte(f), *v.Seq, *v.TS, true
		}
	}
	return nil, 0, 0, false
}

func intAfter(p []byte, key string) (int64, []byte, bool) {
	i := bytes.Index(p, []byte(key))
	if i < 0 {
		return 0, p, false
	}
	p = p[i+len(key):]
	var v int64
	j := 0
	for j < len(p) && p[j] >= '0' && p[j] <= '9' {
		v = v*10 + int64(p[j]-'0')
		j++
	}
	return v, p[j:], j > 0
}
