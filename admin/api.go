package admin

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Control is the server as the admin listener sees it; cmd/redrtc adapts
// the event loops' server to it.
type Control interface {
	// Counts is what the server counts, now.
	Counts() Counts
	// Rooms returns at most limit rooms whose ids sort after after, and
	// whether more follow.
	Rooms(after string, limit int) ([]Room, bool)
	// Room returns the room with this id, and whether it exists.
	Room(id string) (Room, bool)
	// CloseRoom closes a room: its members leave it and stay connected.
	// ErrNotFound when no room has the id.
	CloseRoom(id string) error
	// Kick disconnects a client. ErrNotFound when no client has the id.
	Kick(id string) error
	// Drain stops accepting and closes every client as shutdown does.
	Drain()
	Draining() bool
}

// ErrNotFound is what Control returns for an id that names nothing.
var ErrNotFound = errors.New("not found")

// Room is one room, as GET /v1/rooms/{id} shows it.
type Room struct {
	ID string `json:"id"`
	// Name is the room's name, a JSON string as its creator sent it.
	Name      json.RawMessage `json:"name"`
	CreatedAt time.Time       `json:"createdAt"`
	Members   []string        `json:"members"`
	// Relayed counts the messages relayed between its members.
	Relayed uint64 `json:"messagesRelayed"`
}

// Paging of GET /v1/rooms.
const (
	defaultPage = 100
	maxPage     = 1000
)

// server returns the Control, or answers 503 while there is none yet.
func (l *Listener) server(w http.ResponseWriter) Control {
	c := l.control()
	if c == nil {
		writeError(w, http.StatusServiceUnavailable, "starting", "the server is not listening yet")
	}
	return c
}

// stats is GET /v1/stats.
func (l *Listener) stats(w http.ResponseWriter, _ *http.Request) {
	c := l.server(w)
	if c == nil {
		return
	}
	n := c.Counts()
	var relayed uint64
	for _, v := range n.Relayed {
		relayed += v
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version":             l.cfg.Version,
		"commit":              l.cfg.Commit,
		"uptimeSeconds":       int64(time.Since(l.started) / time.Second),
		"draining":            c.Draining(),
		"clients":             n.Clients,
		"clientLimit":         n.ClientLimit,
		"rooms":               n.Rooms,
		"roomLimit":           n.RoomLimit,
		"connectionsAccepted": n.Accepted,
		"messagesRelayed":     relayed,
		"queuedBytes":         n.QueuedBytes,
	})
}

// rooms is GET /v1/rooms?limit=N&cursor=C: a page of rooms in the order of
// their ids, and the cursor of the next page when there is one.
func (l *Listener) rooms(w http.ResponseWriter, r *http.Request) {
	limit := defaultPage
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			writeError(w, http.StatusBadRequest, "bad-limit", "limit must be a number from 1 to "+strconv.Itoa(maxPage))
			return
		}
		limit = n
	}
	var after string
	if s := r.URL.Query().Get("cursor"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) == 0 {
			writeError(w, http.StatusBadRequest, "bad-cursor", "cursor must be a nextCursor from an earlier page")
			return
		}
		after = string(b)
	}
	c := l.server(w)
	if c == nil {
		return
	}
	rooms, more := c.Rooms(after, limit)
	page := struct {
		Rooms      []Room `json:"rooms"`
		NextCursor string `json:"nextCursor,omitempty"`
	}{Rooms: rooms}
	if page.Rooms == nil {
		page.Rooms = []Room{}
	}
	if more {
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(rooms[len(rooms)-1].ID))
	}
	writeJSON(w, http.StatusOK, page)
}

// room is GET /v1/rooms/{id}.
func (l *Listener) room(w http.ResponseWriter, r *http.Request) {
	c := l.server(w)
	if c == nil {
		return
	}
	room, ok := c.Room(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no-such-room", "no room has this id")
		return
	}
	writeJSON(w, http.StatusOK, room)
}

// closeRoom is DELETE /v1/rooms/{id}.
func (l *Listener) closeRoom(w http.ResponseWriter, r *http.Request) {
	c := l.server(w)
	if c == nil {
		return
	}
	l.done(w, c.CloseRoom(r.PathValue("id")), "no-such-room", "no room has this id")
}

// kick is DELETE /v1/clients/{id}.
func (l *Listener) kick(w http.ResponseWriter, r *http.Request) {
	c := l.server(w)
	if c == nil {
		return
	}
	l.done(w, c.Kick(r.PathValue("id")), "no-such-client", "no client has this id")
}

// drain is POST /v1/drain; 202, as clients are still being closed.
func (l *Listener) drain(w http.ResponseWriter, _ *http.Request) {
	c := l.server(w)
	if c == nil {
		return
	}
	c.Drain()
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "draining"})
}

// done answers a request that acted on one thing: 204, 404 for ErrNotFound,
// 500 for anything else.
func (l *Listener) done(w http.ResponseWriter, err error, code, message string) {
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, code, message)
	default:
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
	}
}
