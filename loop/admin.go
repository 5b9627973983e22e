package loop

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
	"github.com/redrtc/redrtc/registry"
)

// The operator's controls (the admin API's, in cmd/redrtc). Each acts on a
// connection only on the connection's own loop, through gnet's Execute,
// and ends it, when it does, with (*conn).close.

// StatusKicked is the close code of a client an operator disconnected
// (private use, RFC 6455 7.4.2): a client told it should not reconnect at
// once, as it would after 1001.
const StatusKicked ws.StatusCode = 4000

// KickedReason is the close reason that comes with StatusKicked.
const KickedReason = "removed by an operator"

// ErrNoSuchClient and ErrNoSuchRoom are what Kick and CloseRoom return for
// an id that names nobody.
var (
	ErrNoSuchClient = errors.New("no such client")
	ErrNoSuchRoom   = errors.New("no such room")
)

// adminState is the Server's part for the operator's controls.
type adminState struct {
	drainOnce sync.Once
	draining  atomic.Bool
	drained   chan struct{}
}

// Kick closes the client with this id with code and reason, once what is
// queued for it is written. It returns when the close is queued on the
// client's loop, ErrNoSuchClient when no client has the id.
func (s *Server) Kick(id string, code int, reason string) error {
	c := s.connOf(id)
	if c == nil {
		return ErrNoSuchClient
	}
	return c.ls.el.Execute(context.Background(), onConn{c: c, do: func(c *conn) {
		if c.state == stateOpen {
			c.close(ws.StatusCode(code), reason)
		}
	}})
}

// connOf returns the connection of the client with this id (text, as the
// protocol writes it), or nil.
func (s *Server) connOf(id string) *conn {
	cid, ok := proto.ParseClientID([]byte(id))
	if !ok {
		return nil
	}
	cl := s.clients.Get(cid)
	if cl == nil {
		return nil
	}
	c, _ := cl.Sender.(*conn)
	return c
}

// CloseRoom closes the room with this id: each member gets an error event
// room-closed, then room-left, and stays connected, out of any room (and on
// --join-timeout's clock again). It returns once every member's leaving is
// queued on its loop, ErrNoSuchRoom when no room has the id.
func (s *Server) CloseRoom(id string) error {
	r := s.rooms.Get(id)
	if r == nil {
		return ErrNoSuchRoom
	}
	for _, m := range r.Info().Members {
		c, ok := m.Sender.(*conn)
		if !ok {
			continue
		}
		err := c.ls.el.Execute(context.Background(), onConn{c: c, do: func(c *conn) {
			if c.state != stateOpen || c.client.Room() != r {
				return // gone, or moved on to another room meanwhile
			}
			c.sendError(proto.Problem{Code: proto.CodeRoomClosed, Message: "an operator closed the room"})
			c.leave()
		}})
		if err != nil {
			return err
		}
	}
	return nil
}

// onConn runs do on c's loop, as a handler does: what it queues is written
// when it ends, and a panic closes c alone. It implements gnet.Runnable.
type onConn struct {
	c  *conn
	do func(*conn)
}

func (t onConn) Run(context.Context) error {
	ls := t.c.ls
	ls.enter()
	defer ls.exit()
	defer t.c.recoverPanic("carrying out an operator's request")
	t.do(t.c)
	return nil
}

// Drain stops accepting connections and closes every client as shutdown
// does (1001, "server shutting down", after what is queued for it), without
// stopping the event loops; Drained is closed once the last client is gone.
// On a node of a cluster, resumable sessions outlive their sockets, and
// Drained waits until each is resumed on another node or its grace is over.
// Draining twice does nothing more.
func (s *Server) Drain() {
	s.admin.drainOnce.Do(func() {
		s.admin.draining.Store(true)
		go func() {
			_ = s.ln.Close()
			s.accepting.Wait()
			// A node of a cluster keeps the resumable sessions for their
			// clients to resume on another node, and is drained once they
			// have, or their grace is over.
			cluster := s.cfg.Cluster != nil
			s.sayGoodbye(context.Background(), cluster)
			if cluster {
				s.awaitHandovers()
			}
			close(s.admin.drained)
		}()
	})
}

// Draining reports whether Drain was called.
func (s *Server) Draining() bool { return s.admin.draining.Load() }

// Drained is closed once a Drain has closed every client.
func (s *Server) Drained() <-chan struct{} { return s.admin.drained }

// Room returns what the room with this id holds, and whether it exists.
func (s *Server) Room(id string) (registry.RoomInfo, bool) {
	r := s.rooms.Get(id)
	if r == nil {
		return registry.RoomInfo{}, false
	}
	return r.Info(), true
}

// RoomPage returns at most limit rooms whose ids sort after after, and
// whether more follow (registry.Rooms.Page).
func (s *Server) RoomPage(after string, limit int) ([]registry.RoomInfo, bool) {
	rooms, more := s.rooms.Page(after, limit)
	infos := make([]registry.RoomInfo, len(rooms))
	for i, r := range rooms {
		infos[i] = r.Info()
	}
	return infos, more
}

// Started is when the server started.
func (s *Server) Started() int64 { return s.started }
