package main

import (
	"errors"
	"flag"

	"github.com/rs/zerolog"

	"github.com/redrtc/redrtc/admin"
	"github.com/redrtc/redrtc/cluster"
	"github.com/redrtc/redrtc/loop"
	"github.com/redrtc/redrtc/registry"
)

// adminFlags are --admin-addr and --admin-token.
type adminFlags struct {
	addr, token string
}

func (f *adminFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "admin-addr", "", "")
	fs.StringVar(&f.token, "admin-token", "", "")
}

// check refuses a malformed address, and one not on loopback with no token.
func (f *adminFlags) check() error { return admin.CheckAddr(f.addr, f.token) }

// adminListener is the running admin listener, or nil when --admin-addr is
// not given; its methods do nothing then.
type adminListener struct{ l *admin.Listener }

// startAdmin starts the admin listener before the client port listens, so
// that /readyz answers 503 until the server accepts clients.
func startAdmin(f adminFlags, log zerolog.Logger) (*adminListener, error) {
	if f.addr == "" {
		return nil, nil
	}
	l, err := admin.Start(admin.Config{Addr: f.addr, Token: f.token, Version: version, Commit: commit, GoVersion: goVersion()})
	if err != nil {
		return nil, err
	}
	log.Info().Stringer("addr", l.Addr()).Bool("token", f.token != "").
		Msg("admin listener: /metrics, /healthz, /readyz, /debug/pprof/, /v1/")
	return &adminListener{l}, nil
}

// serving tells the listener the server accepts clients.
func (a *adminListener) serving(srv *loop.Server, node *cluster.Node) {
	if a != nil {
		a.l.Serving(control{srv, node})
	}
}

// stopping turns /readyz to 503 as the server shuts down.
func (a *adminListener) stopping() {
	if a != nil {
		a.l.Stopping()
	}
}

func (a *adminListener) close(log zerolog.Logger) {
	if a == nil {
		return
	}
	if err := a.l.Close(); err != nil {
		log.Error().Err(err).Msg("admin listener")
	}
}

// control adapts the event loops' server to admin.Control; the admin
// package does not import loop (cmd → (admin, loop)).
type control struct {
	srv  *loop.Server
	node *cluster.Node // nil on a lone server
}

func (c control) Counts() admin.Counts {
	m := c.srv.Metrics()
	hist := func(h loop.Histogram) admin.Histogram {
		return admin.Histogram{Bounds: h.Bounds, Counts: h.Counts, Count: h.Count, Sum: h.Sum}
	}
	return admin.Counts{
		Clients: m.Clients, ClientLimit: m.ClientLimit, Rooms: m.Rooms, RoomLimit: m.RoomLimit,
		QueuedBytes: m.QueuedBytes, Accepted: m.Accepted,
		Refused: m.Refused, Received: m.Received, Relayed: m.Relayed, RelayedBytes: m.RelayedBytes,
		Errors: m.Errors, Closes: m.Closes,
		RateLimited: m.RateLimited, RateKicks: m.RateKicks, SlowConsumers: m.SlowConsumers,
		JoinTimeouts: m.JoinTimeouts, IdleTimeouts: m.IdleTimeouts,
		Resumes: m.Resumes, Replayed: m.Replayed, RetainDropped: m.RetainDropped, ResumeFailures: m.ResumeFailures,
		RoomSize: hist(m.RoomSize), RelayTime: hist(m.RelayTime), OfferAnswer: hist(m.OfferAnswer),
		Cluster: clusterCounts(c.node),
	}
}

func (c control) Rooms(after string, limit int) ([]admin.Room, bool) {
	infos, more := c.srv.RoomPage(after, limit)
	rooms := make([]admin.Room, len(infos))
	for i, r := range infos {
		rooms[i] = adminRoom(r)
	}
	return rooms, more
}

func (c control) Room(id string) (admin.Room, bool) {
	r, ok := c.srv.Room(id)
	return adminRoom(r), ok
}

func adminRoom(r registry.RoomInfo) admin.Room {
	members := make([]string, len(r.Members))
	for i, m := range r.Members {
		members[i] = m.ID.String()
	}
	return admin.Room{ID: r.ID, Name: []byte(r.Name), CreatedAt: r.Created.UTC(), Members: members, Relayed: r.Relayed}
}

func (c control) CloseRoom(id string) error { return notFound(c.srv.CloseRoom(id), loop.ErrNoSuchRoom) }

func (c control) Kick(id string) error {
	return notFound(c.srv.Kick(id, int(loop.StatusKicked), loop.KickedReason), loop.ErrNoSuchClient)
}

func (c control) Drain()         { c.srv.Drain() }
func (c control) Draining() bool { return c.srv.Draining() }

// notFound turns the loop's "no such" error into admin.ErrNotFound.
func notFound(err, noSuch error) error {
	if errors.Is(err, noSuch) {
		return admin.ErrNotFound
	}
	return err
}
