package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Subprotocol is what every client offers (docs/protocol.md). The tests
// spell it out rather than take the server's constant, so that a change to
// that constant shows up as a broken contract.
const Subprotocol = "webrtc-signaling"

// Event is a message received from the server.
type Event struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
	// Seq is the session's counter the server puts on its events (0 when
	// there is none: client-id, resumed, pong).
	Seq uint64 `json:"seq"`
	Raw []byte `json:"-"` // the whole message, as it arrived
}

// Field returns the data member name, failing the test when data is not an
// object.
func (e Event) Field(t testing.TB, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Data, &m); err != nil {
		t.Fatalf("data of %s is not an object: %s", e.Event, e.Data)
	}
	return m[name]
}

// Str returns the data member name if it is a string, else "".
func (e Event) Str(t testing.TB, name string) string {
	t.Helper()
	s, _ := e.Field(t, name).(string)
	return s
}

// List returns the strings in the data member name.
func (e Event) List(t testing.TB, name string) []string {
	t.Helper()
	raw, _ := e.Field(t, name).([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// Client is a signaling client built on a WebSocket library independent of
// the server's (coder/websocket), for tests that speak the protocol's JSON.
// Every wait is bounded by Timeout; Conn is there for what the methods do
// not cover (a write from another goroutine, a reset with CloseNow).
type Client struct {
	t    testing.TB
	Conn *websocket.Conn
	ID   string // from client-id; empty for DialNoID
	// Token is client-id's resumeToken; empty when the server has resume
	// off.
	Token string
}

// Dial connects to url offering the subprotocol, checks that it was
// selected, and reads the client-id. The connection ends with the test.
func Dial(t testing.TB, url string) *Client {
	t.Helper()
	c := DialNoID(t, url)
	c.ID, c.Token = c.ReadClientIDToken()
	return c
}

// DialNoID is Dial without reading the client-id.
func DialNoID(t testing.TB, url string) *Client {
	t.Helper()
	c, resp, err := DialWith(t, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != Subprotocol {
		t.Fatalf("subprotocol %q selected, want %s", got, Subprotocol)
	}
	return c
}

// DialWith connects with opts (nil for none), offering the subprotocol
// unless opts names others, and leaves the checks to the caller: the
// response is returned whether or not the upgrade succeeded.
func DialWith(t testing.TB, url string, opts *websocket.DialOptions) (*Client, *http.Response, error) {
	t.Helper()
	o := websocket.DialOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Subprotocols == nil {
		o.Subprotocols = []string{Subprotocol}
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &o)
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = conn.CloseNow() })
	return &Client{t: t, Conn: conn}, resp, nil
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// In returns the client with its failures reported to t: a subtest of the
// test that dialled it.
func (c *Client) In(t testing.TB) *Client {
	in := *c
	in.t = t
	return &in
}

var resumeToken = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ReadClientID reads the next message and checks that it is exactly
// {"event":"client-id","data":{"clientId":"<UUIDv4>"}}, with a
// "resumeToken":"<32 hex digits>" when the server has resume on; it returns
// the id.
func (c *Client) ReadClientID() string {
	c.t.Helper()
	id, _ := c.ReadClientIDToken()
	return id
}

// ReadClientIDToken is ReadClientID returning the resume token too.
func (c *Client) ReadClientIDToken() (id, token string) {
	c.t.Helper()
	ev, err := c.Read()
	if err != nil {
		c.t.Fatalf("reading the client-id: %v", err)
	}
	var data struct {
		ClientID    string  `json:"clientId"`
		ResumeToken *string `json:"resumeToken"`
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Data))
	dec.DisallowUnknownFields()
	if ev.Event != "client-id" || ev.Seq != 0 || dec.Decode(&data) != nil || !uuidV4.MatchString(data.ClientID) ||
		(data.ResumeToken != nil && !resumeToken.MatchString(*data.ResumeToken)) {
		c.t.Fatalf("first message %s, want {\"event\":\"client-id\",\"data\":{\"clientId\":\"<UUIDv4>\"[,\"resumeToken\":\"<32 hex digits>\"]}}", ev.Raw)
	}
	if data.ResumeToken != nil {
		token = *data.ResumeToken
	}
	return data.ClientID, token
}

// Send sends {"event":evt,"data":data}.
func (c *Client) Send(evt string, data any) {
	c.t.Helper()
	b, err := json.Marshal(map[string]any{"event": evt, "data": data})
	if err != nil {
		c.t.Fatal(err)
	}
	c.SendRaw(string(b))
}

// SendRaw sends msg as a text message.
func (c *Client) SendRaw(msg string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := c.Conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		c.t.Fatalf("write %.200s: %v", msg, err)
	}
}

// Read reads the next message, which must be JSON text. It does not fail
// the test, so that other goroutines may call it; the error of a closed
// connection carries its close status (websocket.CloseStatus).
func (c *Client) Read() (Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	typ, b, err := c.Conn.Read(ctx)
	if err != nil {
		return Event{}, err
	}
	if typ != websocket.MessageText {
		return Event{}, fmt.Errorf("got a %v message", typ)
	}
	ev := Event{Raw: b}
	if err := json.Unmarshal(b, &ev); err != nil {
		return Event{}, fmt.Errorf("bad JSON from server: %s", b)
	}
	return ev, nil
}

// Expect reads the next message and checks that it is one of these events.
func (c *Client) Expect(names ...string) Event {
	c.t.Helper()
	ev, err := c.Read()
	if err != nil {
		c.t.Fatalf("waiting for %s: %v", strings.Join(names, " or "), err)
	}
	for _, name := range names {
		if ev.Event == name {
			return ev
		}
	}
	c.t.Fatalf("got %s %s, want %s", ev.Event, ev.Data, strings.Join(names, " or "))
	return ev
}

// Await reads until a message with this event arrives, passing over others,
// and returns it.
func (c *Client) Await(name string) Event {
	c.t.Helper()
	for {
		ev, err := c.Read()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", name, err)
		}
		if ev.Event == name {
			return ev
		}
	}
}

// ExpectError reads the next message and checks that it is an error with
// this code, caused by an event named cause, and that it has a message.
func (c *Client) ExpectError(code, cause string) Event {
	c.t.Helper()
	ev := c.Expect("error")
	if got := ev.Str(c.t, "code"); got != code {
		c.t.Fatalf("error code %q, want %q (%s)", got, code, ev.Data)
	}
	if got := ev.Str(c.t, "event"); got != cause {
		c.t.Fatalf("error event %q, want %q (%s)", got, cause, ev.Data)
	}
	if ev.Str(c.t, "message") == "" {
		c.t.Fatalf("error without a message: %s", ev.Data)
	}
	return ev
}

// ExpectClose reads until the connection closes, at most Timeout, and
// checks the close code.
func (c *Client) ExpectClose(code websocket.StatusCode) {
	c.t.Helper()
	deadline := time.Now().Add(Timeout)
	for {
		_, err := c.Read()
		if err == nil {
			if time.Now().After(deadline) {
				c.t.Fatalf("still open after %v, want close %v", Timeout, code)
			}
			continue
		}
		if got := websocket.CloseStatus(err); got != code {
			c.t.Fatalf("closed with %v (%v), want %v", got, err, code)
		}
		return
	}
}

// Join joins a room and reads the replies up to the joiner's participants,
// so that the next message read is news. It returns the room-joined.
func (c *Client) Join(room string) Event {
	c.t.Helper()
	c.Send("join-room", map[string]any{"roomId": room})
	for {
		ev := c.Expect("room-created", "room-joined")
		if ev.Event == "room-joined" {
			c.Expect("participants")
			return ev
		}
	}
}

// StillServed checks that the server still answers: a ping gets its pong.
func (c *Client) StillServed() {
	c.t.Helper()
	c.Send("ping", map[string]any{})
	c.Expect("pong")
}
