// Package conformance is the protocol conformance suite (docs/protocol.md):
// loop's tests run it against an in-process server, and every server the
// benchmark measures must pass it first: RedRTC, the goroutine-per-connection
// baseline, or any compatible server given by URL. It checks /healthz, the
// handshake, client-id, rooms and their announcements, relaying, ping/pong,
// errors and leaving. It speaks over a real socket only, so that it checks
// what a client sees, whatever the server is written in.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Subprotocol is offered by every client.
const Subprotocol = "webrtc-signaling"

// stepTimeout bounds every single wait.
const stepTimeout = 5 * time.Second

// Event is one received message.
type Event struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

type fields struct {
	ClientID     string          `json:"clientId"`
	RoomID       string          `json:"roomId"`
	RoomName     string          `json:"roomName"`
	Participants []string        `json:"participants"`
	FromClientID string          `json:"fromClientId"`
	Offer        json.RawMessage `json:"offer"`
	Answer       json.RawMessage `json:"answer"`
	Candidate    json.RawMessage `json:"candidate"`
	Code         string          `json:"code"`
	Message      string          `json:"message"`
	Event        string          `json:"event"`
}

// Client is a blocking WebSocket client for tests.
type Client struct {
	conn net.Conn
	br   io.Reader
	ID   string
	name string
}

// Dial connects to url offering the subprotocol and reads the client-id.
func Dial(ctx context.Context, rawURL, name string) (*Client, error) {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	d := ws.Dialer{Protocols: []string{Subprotocol}}
	conn, br, hs, err := d.Dial(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: dial %s: %w", name, rawURL, err)
	}
	c := &Client{conn: conn, br: conn, name: name}
	if br != nil { // the server's first frames came with the handshake
		c.br = br
	}
	if hs.Protocol != Subprotocol {
		c.Close()
		return nil, fmt.Errorf("%s: the server did not select subprotocol %q (got %q)", name, Subprotocol, hs.Protocol)
	}
	ev, f, err := c.Read()
	if err != nil {
		c.Close()
		return nil, err
	}
	if ev.Event != "client-id" {
		c.Close()
		return nil, fmt.Errorf("%s: first message is %q, want client-id", name, ev.Event)
	}
	if !isUUID(f.ClientID) {
		c.Close()
		return nil, fmt.Errorf("%s: clientId %q is not a UUID", name, f.ClientID)
	}
	c.ID = f.ClientID
	return c, nil
}

// Close closes the connection without a close handshake.
func (c *Client) Close() { _ = c.conn.Close() }

// Send sends one message.
func (c *Client) Send(event string, data any) error {
	b, err := json.Marshal(map[string]any{"event": event, "data": data})
	if err != nil {
		return err
	}
	return c.SendRaw(b)
}

// SendRaw sends one text frame as it is.
func (c *Client) SendRaw(b []byte) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(stepTimeout))
	if err := wsutil.WriteClientText(c.conn, b); err != nil {
		return fmt.Errorf("%s: write: %w", c.name, err)
	}
	return nil
}

// Read reads the next message; control frames are handled on the way.
func (c *Client) Read() (Event, fields, error) {
	var ev Event
	var f fields
	_ = c.conn.SetReadDeadline(time.Now().Add(stepTimeout))
	rw := struct {
		io.Reader
		io.Writer
	}{c.br, c.conn}
	b, op, err := wsutil.ReadServerData(rw)
	if err != nil {
		return ev, f, fmt.Errorf("%s: read: %w", c.name, err)
	}
	if op != ws.OpText {
		return ev, f, fmt.Errorf("%s: got a %v frame, want text", c.name, op)
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, f, fmt.Errorf("%s: message is not a JSON object: %s", c.name, b)
	}
	if len(ev.Data) > 0 && string(ev.Data) != "null" {
		if err := json.Unmarshal(ev.Data, &f); err != nil {
			return ev, f, fmt.Errorf("%s: data of %s is not an object: %s", c.name, ev.Event, ev.Data)
		}
	}
	return ev, f, nil
}

// Expect reads the next message and checks its event name.
func (c *Client) Expect(event string) (fields, error) {
	ev, f, err := c.Read()
	if err != nil {
		return f, fmt.Errorf("waiting for %s: %w", event, err)
	}
	if ev.Event != event {
		return f, fmt.Errorf("%s: got %s %s, want %s", c.name, ev.Event, ev.Data, event)
	}
	return f, nil
}

// ExpectError reads the next message and checks it is an error with code.
func (c *Client) ExpectError(code string) error {
	f, err := c.Expect("error")
	if err != nil {
		return err
	}
	if f.Code != code {
		return fmt.Errorf("%s: error code %q (%s), want %q", c.name, f.Code, f.Message, code)
	}
	return nil
}

// Run checks the protocol against the server at rawURL (ws://host:port/).
func Run(ctx context.Context, rawURL string) error {
	s := &session{ctx: ctx, url: rawURL}
	defer s.closeAll()
	return s.run()
}

type session struct {
	ctx     context.Context
	url     string
	clients []*Client
}

func (s *session) closeAll() {
	for _, c := range s.clients {
		c.Close()
	}
}

func (s *session) dial(name string) (*Client, error) {
	c, err := Dial(s.ctx, s.url, name)
	if err == nil {
		s.clients = append(s.clients, c)
	}
	return c, err
}

func (s *session) run() error {
	if err := httpChecks(s.ctx, s.url); err != nil {
		return err
	}
	a, err := s.dial("a")
	if err != nil {
		return err
	}
	b, err := s.dial("b")
	if err != nil {
		return err
	}
	if a.ID == b.ID {
		return fmt.Errorf("two clients got the same id %s", a.ID)
	}

	// ping/pong, and the errors a client gets before joining.
	if err := a.Send("ping", map[string]any{}); err != nil {
		return err
	}
	if _, err := a.Expect("pong"); err != nil {
		return err
	}
	if err := a.Send("offer", map[string]any{"targetClientId": b.ID, "offer": map[string]any{"sdp": "x"}}); err != nil {
		return err
	}
	if err := a.ExpectError("not-in-room"); err != nil {
		return fmt.Errorf("offer before joining: %w", err)
	}
	if err := a.SendRaw([]byte(`{"event":`)); err != nil {
		return err
	}
	if err := a.ExpectError("bad-json"); err != nil {
		return err
	}
	if err := a.Send("no-such-event", map[string]any{}); err != nil {
		return err
	}
	if err := a.ExpectError("unknown-event"); err != nil {
		return err
	}

	// a creates the room, b joins it.
	room := fmt.Sprintf("conformance-%d", time.Now().UnixNano())
	if err := a.Send("join-room", map[string]any{"roomId": room}); err != nil {
		return err
	}
	f, err := a.Expect("room-created")
	if err != nil {
		return err
	}
	if f.RoomID != room || f.RoomName == "" {
		return fmt.Errorf("room-created: roomId %q roomName %q, want roomId %q and a name", f.RoomID, f.RoomName, room)
	}
	if err := expectMembers(a, "room-joined", room, a.ID); err != nil {
		return err
	}
	if err := expectMembers(a, "participants", room, a.ID); err != nil {
		return err
	}
	if err := b.Send("join-room", map[string]any{"roomId": room}); err != nil {
		return err
	}
	if err := expectMembers(b, "room-joined", room, a.ID, b.ID); err != nil {
		return err
	}
	if err := expectMembers(b, "participants", room, a.ID, b.ID); err != nil {
		return err
	}
	if err := expectMembers(a, "participants", room, a.ID, b.ID); err != nil {
		return err
	}

	// Relays: offer a→b, answer b→a, candidate a→b, each byte-for-byte JSON.
	offer := json.RawMessage(`{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n","n":[1,2.5,true,null,{"k":"v"}]}`)
	if err := relay(a, b, "offer", "offer", offer); err != nil {
		return err
	}
	answer := json.RawMessage(`{"type":"answer","sdp":"v=0\r\n"}`)
	if err := relay(b, a, "answer", "answer", answer); err != nil {
		return err
	}
	cand := json.RawMessage(`{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host","sdpMid":"0","sdpMLineIndex":0}`)
	if err := relay(a, b, "ice-candidate", "candidate", cand); err != nil {
		return err
	}
	if err := a.Send("offer", map[string]any{"targetClientId": "00000000-0000-4000-8000-000000000000", "offer": offer}); err != nil {
		return err
	}
	if err := a.ExpectError("target-not-found"); err != nil {
		return fmt.Errorf("offer to an unknown client: %w", err)
	}
	if err := a.Send("offer", map[string]any{"offer": offer}); err != nil {
		return err
	}
	if err := a.ExpectError("bad-request"); err != nil {
		return fmt.Errorf("offer without a target: %w", err)
	}

	// Fill the room to 6; a 7th is refused.
	members := []*Client{a, b}
	for i := 0; i < 4; i++ {
		c, err := s.dial(fmt.Sprintf("m%d", i))
		if err != nil {
			return err
		}
		if err := c.Send("join-room", map[string]any{"roomId": room}); err != nil {
			return err
		}
		members = append(members, c)
		ids := idsOf(members)
		if err := expectMembers(c, "room-joined", room, ids...); err != nil {
			return err
		}
		for _, m := range members {
			if err := expectMembers(m, "participants", room, ids...); err != nil {
				return err
			}
		}
	}
	g, err := s.dial("g")
	if err != nil {
		return err
	}
	if err := g.Send("join-room", map[string]any{"roomId": room}); err != nil {
		return err
	}
	if err := g.ExpectError("room-full"); err != nil {
		return fmt.Errorf("7th join: %w", err)
	}

	// b leaves: it gets room-left, the others the new list.
	if err := b.Send("leave-room", map[string]any{}); err != nil {
		return err
	}
	f, err = b.Expect("room-left")
	if err != nil {
		return err
	}
	if f.RoomID != room {
		return fmt.Errorf("room-left: roomId %q, want %q", f.RoomID, room)
	}
	rest := slices.Delete(slices.Clone(members), 1, 2)
	for _, m := range rest {
		if err := expectMembers(m, "participants", room, idsOf(rest)...); err != nil {
			return err
		}
	}
	if err := b.Send("leave-room", map[string]any{}); err != nil {
		return err
	}
	if err := b.ExpectError("not-in-room"); err != nil {
		return fmt.Errorf("second leave-room: %w", err)
	}

	// A member that disconnects is announced too.
	last := rest[len(rest)-1]
	last.Close()
	rest = rest[:len(rest)-1]
	for _, m := range rest {
		if err := expectMembers(m, "participants", room, idsOf(rest)...); err != nil {
			return fmt.Errorf("after a member disconnected: %w", err)
		}
	}

	// A close handshake is answered with a close frame.
	return closeHandshake(a)
}

func idsOf(cs []*Client) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func expectMembers(c *Client, event, room string, ids ...string) error {
	f, err := c.Expect(event)
	if err != nil {
		return err
	}
	if f.RoomID != room {
		return fmt.Errorf("%s: %s for room %q, want %q", c.name, event, f.RoomID, room)
	}
	if !slices.Equal(f.Participants, ids) {
		return fmt.Errorf("%s: %s participants %v, want %v (join order)", c.name, event, f.Participants, ids)
	}
	return nil
}

func relay(from, to *Client, event, key string, payload json.RawMessage) error {
	if err := from.Send(event, map[string]any{"targetClientId": to.ID, key: payload}); err != nil {
		return err
	}
	f, err := to.Expect(event)
	if err != nil {
		return err
	}
	if f.FromClientID != from.ID {
		return fmt.Errorf("%s: %s fromClientId %q, want %q", to.name, event, f.FromClientID, from.ID)
	}
	got := map[string]json.RawMessage{"offer": f.Offer, "answer": f.Answer, "candidate": f.Candidate}[key]
	if !jsonEqual(got, payload) {
		return fmt.Errorf("%s: %s %s is %s, want %s", to.name, event, key, got, payload)
	}
	return nil
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

func closeHandshake(c *Client) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(stepTimeout))
	body := ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye")
	if err := ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewCloseFrame(body))); err != nil {
		return fmt.Errorf("%s: send close: %w", c.name, err)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(stepTimeout))
	for {
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			return fmt.Errorf("%s: waiting for the close frame: %w", c.name, err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c.br, p); err != nil {
			return fmt.Errorf("%s: waiting for the close frame: %w", c.name, err)
		}
		if h.OpCode == ws.OpClose {
			return nil
		}
	}
}

// httpChecks checks GET /healthz and that a plain request gets 426.
func httpChecks(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	base := "http://" + u.Host
	if u.Scheme == "wss" {
		base = "https://" + u.Host
	}
	client := &http.Client{Timeout: stepTimeout}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET /healthz: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	var h struct {
		Status  string `json:"status"`
		Clients *int   `json:"clients"`
		Rooms   *int   `json:"rooms"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &h) != nil || h.Status != "ok" || h.Clients == nil || h.Rooms == nil {
		return fmt.Errorf("GET /healthz: %s %s, want 200 {\"status\":\"ok\",\"clients\":N,\"rooms\":M}", resp.Status, strings.TrimSpace(string(body)))
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	resp, err = client.Do(req)
	if err != nil {
		return fmt.Errorf("GET /: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		return fmt.Errorf("GET / without an upgrade: %s, want 426", resp.Status)
	}
	return nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
