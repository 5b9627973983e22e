package loop

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/internal/testkit"
)

// TestChaos has well-behaved clients, four to a room, send numbered offers to
// their room-mates while others, on the same server, send garbage, drop their
// connection mid-frame, stop reading while being flooded, and reconnect into
// the well-behaved rooms in a loop. Every well-behaved client must receive
// every message addressed to it, once and in order, and when everyone is gone
// the server's tables must be empty.
func TestChaos(t *testing.T) {
	const (
		rooms   = 20
		perRoom = 4
		msgs    = 30 // per sender per room-mate
	)
	// No rate limit: since messages count by their size, one flooder within
	// the limit can no longer push a stalled reader past --max-outbound
	// (TestLargeMessagesCountByTheirSize), and dropping stalled readers is
	// one of the kinds of mischief this test needs to see happen.
	// A short --resume-grace: a resuming client cut off by the chaos
	// leaves a detached session, which must be gone before the tables are
	// checked.
	srv := startServer(t, Config{Clients: 4000, Rooms: 1000, MaxOutbound: 256 << 10, Rate: -1, ResumeGrace: 3 * time.Second})

	// The well-behaved clients join first.
	good := make([][]*testkit.Client, rooms)
	for r := range good {
		for range perRoom {
			c := dial(t, srv)
			c.Join(fmt.Sprintf("good-%d", r))
			good[r] = append(good[r], c)
		}
	}

	resumeFailures := make(chan string, 64)
	resumeFailure := func(f string) {
		select {
		case resumeFailures <- f:
		default:
		}
	}
	ctx, stopChaos := context.WithCancel(context.Background())
	var chaos sync.WaitGroup
	// Each actor returns whether it did its mischief to the end; the test
	// runs until each kind has done so a few times.
	actors := []struct {
		name string
		act  func(ctx context.Context, i int) bool
		done atomic.Int64
	}{
		{name: "garbage", act: func(ctx context.Context, i int) bool { return sendGarbage(ctx, srv, i) }},
		{name: "mid-frame drop", act: func(ctx context.Context, i int) bool { return dropMidFrame(ctx, srv, i) }},
		{name: "reconnect into a good room", act: func(ctx context.Context, i int) bool {
			return reconnectIntoRoom(ctx, srv, fmt.Sprintf("good-%d", i%rooms))
		}},
		{name: "stalled reader dropped", act: func(ctx context.Context, i int) bool { return stallWhileFlooded(ctx, srv, i) }},
		{name: "drop and resume, exactly once", act: func(context.Context, int) bool { return dropAndResume(t, srv, resumeFailure) }},
	}
	// Ten goroutines for each kind of mischief, and four for the resuming
	// clients, which leave the others' pace as it was.
	const mischief, resumers = 40, 4
	for i := range mischief + resumers {
		chaos.Add(1)
		go func() {
			defer chaos.Done()
			a := &actors[i%(len(actors)-1)]
			if i >= mischief {
				a = &actors[len(actors)-1]
			}
			for ctx.Err() == nil {
				if a.act(ctx, i) {
					a.done.Add(1)
				}
			}
		}()
	}

	var wg sync.WaitGroup
	failures := make(chan string, rooms*perRoom)
	for _, room := range good {
		for _, c := range room {
			wg.Add(2)
			go func() { // send
				defer wg.Done()
				for n := range msgs {
					for _, mate := range room {
						if mate == c {
							continue
						}
						msg := fmt.Sprintf(`{"event":"offer","data":{"targetClientId":%q,"offer":{"seq":%d}}}`, mate.ID, n)
						wctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
						err := c.Conn.Write(wctx, websocket.MessageText, []byte(msg))
						cancel()
						if err != nil {
							failures <- fmt.Sprintf("%s: write: %v", c.ID, err)
							return
						}
					}
				}
			}()
			go func() { // receive and check order
				defer wg.Done()
				next := map[string]int{}
				want := (perRoom - 1) * msgs
				for got := 0; got < want; {
					ev, err := c.Read()
					if err != nil {
						failures <- fmt.Sprintf("%s: after %d of %d offers: %v", c.ID, got, want, err)
						return
					}
					switch ev.Event {
					case "participants":
						continue
					case "offer":
					default:
						failures <- fmt.Sprintf("%s: unexpected %s %s", c.ID, ev.Event, ev.Data)
						return
					}
					var d struct {
						From  string `json:"fromClientId"`
						Offer struct{ Seq int }
					}
					if err := json.Unmarshal(ev.Data, &d); err != nil {
						failures <- err.Error()
						return
					}
					if d.Offer.Seq != next[d.From] {
						failures <- fmt.Sprintf("%s: from %s got seq %d, want %d", c.ID, d.From, d.Offer.Seq, next[d.From])
						return
					}
					next[d.From]++
					got++
				}
			}()
		}
	}
	wg.Wait()
	for i := range actors {
		testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
			if n := actors[i].done.Load(); n < 10 {
				return fmt.Errorf("%s happened %d times, want 10", actors[i].name, n)
			}
			return nil
		})
	}
	stopChaos()
	chaos.Wait()
	for i := range actors {
		t.Logf("%s: %d times", actors[i].name, actors[i].done.Load())
	}
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	close(resumeFailures)
	for f := range resumeFailures {
		t.Error(f)
	}
	for _, room := range good {
		for _, c := range room {
			_ = c.Conn.CloseNow()
		}
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, tablesEmpty(srv))
}

// chaosConn upgrades a raw connection; nil when the server is busy or gone.
func chaosConn(srv *Server) *rawConn { return chaosConnVia(srv, rawDialErr) }

// chaosConnVia is chaosConn with a choice of dialer.
func chaosConnVia(srv *Server, dial func(*Server) (*rawConn, error)) *rawConn {
	r, err := dial(srv)
	if err != nil {
		return nil
	}
	_ = r.nc.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := r.nc.Write([]byte(upgradeRequest)); err != nil {
		_ = r.nc.Close()
		return nil
	}
	return r
}

var garbage = [][]byte{
	maskedText(`{"event":`),
	maskedText(`{"event":"dance"}`),
	maskedText(`{"event":"offer","data":{"targetClientId":"00000000-0000-4000-8000-000000000000","offer":{}}}`),
	frame(ws.OpBinary, true, []byte{0, 1, 2, 3}),
	frame(ws.OpText, true, []byte("\xff\xfe")),
	frame(ws.OpContinuation, true, []byte("x")),
	{0x81, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
	[]byte("\x81\x05hello"), // unmasked
	[]byte(strings.Repeat("\x00", 64)),
}

func sendGarbage(ctx context.Context, srv *Server, i int) bool {
	r := chaosConn(srv)
	if r == nil {
		return false
	}
	defer r.nc.Close()
	for k := 0; k < 5 && ctx.Err() == nil; k++ {
		if _, err := r.nc.Write(garbage[rand.IntN(len(garbage))]); err != nil {
			return true // the server closed on a protocol error
		}
	}
	buf := make([]byte, 4096)
	for { // read whatever comes back until the server closes or time is up
		if _, err := r.nc.Read(buf); err != nil {
			return true
		}
	}
}

func dropMidFrame(ctx context.Context, srv *Server, i int) bool {
	r := chaosConn(srv)
	if r == nil {
		return false
	}
	f := maskedText(`{"event":"join-room","data":{"roomId":"half-` + fmt.Sprint(i) + `"}}`)
	_, err := r.nc.Write(f[:len(f)/2])
	_ = r.nc.Close()
	return err == nil
}

func reconnectIntoRoom(ctx context.Context, srv *Server, room string) bool {
	r, _ := chaosUpgrade(srv, rawDialErr)
	if r == nil {
		return false
	}
	defer r.nc.Close()
	if _, err := r.nc.Write(maskedText(`{"event":"join-room","data":{"roomId":"` + room + `"}}`)); err != nil {
		return false
	}
	f, err := ws.ReadFrame(r.br) // room-joined, or room-full when the room is
	return err == nil && f.Header.OpCode == ws.OpText
}

// stallWhileFlooded has one client stop reading while a room-mate floods it
// with large offers, until the server drops the stalled one.
func stallWhileFlooded(ctx context.Context, srv *Server, i int) bool {
	room := fmt.Sprintf("stall-%d", i)
	// A small receive window: a round needs about 100 offers, not 140.
	staller, stallerID := chaosUpgrade(srv, rawDialSmallWindow)
	if staller == nil {
		return false
	}
	defer staller.nc.Close()
	flooder, _ := chaosUpgrade(srv, rawDialErr)
	if flooder == nil {
		return false
	}
	defer flooder.nc.Close()
	join := maskedText(`{"event":"join-room","data":{"roomId":"` + room + `"}}`)
	if _, err := staller.nc.Write(join); err != nil {
		return false
	}
	if _, err := flooder.nc.Write(join); err != nil {
		return false
	}
	// The flood starts once the flooder sees the staller in the room: an
	// offer that overtook the staller's join would be refused too.
	_ = flooder.nc.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		f, err := ws.ReadFrame(flooder.br)
		if err != nil {
			return false
		}
		if strings.Contains(string(f.Payload), `"participants"`) && strings.Contains(string(f.Payload), stallerID) {
			break
		}
	}
	// The staller never reads again. The flooder reads everything, and stops
	// when the server says the staller is gone. It sends each offer with a
	// ping and waits for the pong, so that it never runs megabytes ahead of
	// the server: each round costs the server only what it takes to reach
	// --max-outbound, which keeps the test quick on a loaded machine.
	dropped := make(chan struct{})
	pongs := make(chan struct{}, 1)
	var sawDrop atomic.Bool
	go func() {
		defer close(dropped)
		_ = flooder.nc.SetReadDeadline(time.Now().Add(waitTimeout))
		for {
			f, err := ws.ReadFrame(flooder.br)
			if err != nil {
				return
			}
			switch payload := string(f.Payload); {
			case strings.Contains(payload, "target-not-found"):
				sawDrop.Store(true)
				return
			case strings.Contains(payload, `"pong"`):
				pongs <- struct{}{}
			}
		}
	}()
	offer := append(maskedText(`{"event":"offer","data":{"targetClientId":"`+stallerID+`","offer":"`+strings.Repeat("s", 30000)+`"}}`), ping()...)
	_ = flooder.nc.SetWriteDeadline(time.Now().Add(waitTimeout))
	for n := 0; n < 400 && ctx.Err() == nil; n++ {
		if _, err := flooder.nc.Write(offer); err != nil {
			break
		}
		select {
		case <-pongs:
		case <-dropped:
			return sawDrop.Load()
		}
	}
	_ = flooder.nc.Close()
	<-dropped
	return sawDrop.Load()
}

// chaosUpgrade upgrades a raw connection and reads its client id; nil when
// the server is busy or gone.
func chaosUpgrade(srv *Server, dial func(*Server) (*rawConn, error)) (*rawConn, string) {
	r := chaosConnVia(srv, dial)
	if r == nil {
		return nil, ""
	}
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		_ = r.nc.Close()
		return nil, ""
	}
	resp.Body.Close()
	f, err := ws.ReadFrame(r.br)
	var ev struct {
		Data struct{ ClientID string }
	}
	if err != nil || json.Unmarshal(f.Payload, &ev) != nil {
		_ = r.nc.Close()
		return nil, ""
	}
	return r, ev.Data.ClientID
}
