package loop

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// The server accepts connections itself rather than letting gnet do it:
// gnet's acceptor treats EMFILE as fatal and shuts the whole engine down, so
// one connection past the open-files limit would take every client with it.
// Here a refused connection costs only itself, and a full descriptor table
// never makes the acceptor spin.

// fullResponse is what a connection gets when no descriptor is left for it.
const fullResponse = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 5\r\n\r\n"

// acceptBackoff paces the acceptor while descriptors stay exhausted.
const acceptBackoff = 10 * time.Millisecond

// spareFD is a descriptor held in reserve: when the table is full, it is
// released so that the waiting connection can be accepted, told 503 and
// closed, instead of sitting in the backlog.
type spareFD struct {
	mu sync.Mutex
	f  *os.File
}

func (sp *spareFD) open() {
	if sp.f == nil {
		sp.f, _ = os.Open(os.DevNull)
	}
}

// acceptorsPerLoop is how many accept goroutines run for each event loop.
// EnrollContext waits until the chosen loop has registered the connection, a
// round trip through that loop's task queue, so one acceptor per loop leaves
// the loops idle between connections; four connect and churn faster for
// the same memory (docs/performance.md, "Acceptors per event loop").
const acceptorsPerLoop = 4

// startAccepting starts n accept goroutines (a fixed number, never one per
// connection), so that a burst of connections reaches the loops as fast as
// it arrives.
func (s *Server) startAccepting(n int) error {
	sp := &spareFD{}
	sp.open()
	if sp.f == nil {
		return fmt.Errorf("open %s for the spare descriptor: no descriptor left", os.DevNull)
	}
	for range n {
		s.accepting.Add(1)
		go s.acceptLoop(sp)
	}
	go func() {
		s.accepting.Wait()
		sp.mu.Lock()
		if sp.f != nil {
			_ = sp.f.Close()
		}
		sp.mu.Unlock()
	}()
	return nil
}

func (s *Server) acceptLoop(sp *spareFD) {
	defer s.accepting.Done()
	var lastWarn time.Time
	for {
		tc, err := s.ln.AcceptTCP()
		if err != nil {
			switch {
			case errors.Is(err, net.ErrClosed):
				return
			case errors.Is(err, os.ErrDeadlineExceeded):
				// refuseOne's short deadline on the shared listener, seen
				// by another accept goroutine: nothing to report.
				continue
			case errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE):
				if time.Since(lastWarn) > 5*time.Second {
					lastWarn = time.Now()
					s.log.Warn().Err(err).Int("clients", s.clients.Len()).
						Msg("out of file descriptors: refusing connections; raise the open-files limit or lower --clients")
				}
				s.refuseOne(sp)
			default:
				if time.Since(lastWarn) > 5*time.Second {
					lastWarn = time.Now()
					s.log.Warn().Err(err).Msg("accept")
				}
			}
			time.Sleep(acceptBackoff)
			continue
		}
		// EnrollContext moves the socket onto the least-loaded loop (as a
		// duplicate descriptor) and closes tc; OnOpen has run when it returns.
		// When no descriptor is left for the duplicate, tc is just closed.
		if _, err := s.engine.EnrollContext(tc, nil); err != nil {
			s.log.Debug().Err(err).Msg("cannot hand the connection to an event loop")
		}
	}
}

// refuseOne uses the spare descriptor to accept one waiting connection, tell
// it 503, and close it.
func (s *Server) refuseOne(sp *spareFD) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.f != nil {
		_ = sp.f.Close()
		sp.f = nil
	}
	_ = s.ln.SetDeadline(time.Now().Add(acceptBackoff))
	tc, err := s.ln.AcceptTCP()
	_ = s.ln.SetDeadline(time.Time{})
	if err == nil {
		_ = tc.SetWriteDeadline(time.Now().Add(acceptBackoff))
		_, _ = tc.Write([]byte(fullResponse))
		s.outOfDescriptors.Add(1)
		_ = tc.Close()
	}
	sp.open()
}
