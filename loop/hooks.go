package loop

import "time"

// testHooks are the points where this package's tests reach inside a running
// server; Start leaves every one at its default, and nothing outside the
// tests sets them.
type testHooks struct {
	// minTimeout is the shortest --timeout and --join-timeout accepted
	// (default MinTimeout), so that tests can see a timeout happen in well
	// under 30 seconds.
	minTimeout time.Duration
	// handshakeTimeout closes a connection still in its upgrade after this
	// long (default HandshakeTimeout).
	handshakeTimeout time.Duration
	// closeGrace is how long a closing connection may take to drain what is
	// queued for it (default closeGrace).
	closeGrace time.Duration
	// beforeDispatch sees every text message before it is handled.
	beforeDispatch func(payload []byte)
	// beforeLeftAnnounced is called before a departure from the room with
	// this id is announced.
	beforeLeftAnnounced func(roomID string)
	// beforeFlush sees every buffer the loop is about to write.
	beforeFlush func(buf []byte)
	// transition sees every change of a connection's state, on its loop.
	transition func(c *conn, from, to state)
}

func (h testHooks) withDefaults() testHooks {
	if h.minTimeout == 0 {
		h.minTimeout = MinTimeout
	}
	if h.handshakeTimeout == 0 {
		h.handshakeTimeout = HandshakeTimeout
	}
	if h.closeGrace == 0 {
		h.closeGrace = closeGrace
	}
	return h
}
