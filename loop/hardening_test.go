package loop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/internal/testkit"
)

func TestRateLimit(t *testing.T) {
	srv := startServer(t, Config{Rate: 20, Burst: 10, RateKick: 2 * time.Second})
	flooder, calm := pairInRoom(t, srv, "r")

	t.Run("messages over the burst are dropped with one rate-limited error", func(t *testing.T) {
		fresh := dial(t, srv) // has sent nothing yet, so its whole burst is left
		for range 30 {
			fresh.Send("ping", map[string]any{})
		}
		pongs, errs := 0, 0
		for pongs+errs < 11 {
			ev := fresh.Expect("pong", "error")
			if ev.Event == "pong" {
				pongs++
			} else {
				if ev.Str(t, "code") != "rate-limited" {
					t.Fatalf("error %s", ev.Data)
				}
				errs++
			}
		}
		if pongs != 10 || errs != 1 {
			t.Fatalf("%d pongs and %d errors, want the burst of 10 and one error", pongs, errs)
		}
	})
	t.Run("room-mates are unaffected", func(t *testing.T) {
		calm.Send("offer", map[string]any{"targetClientId": flooder.ID, "offer": 1})
		calm.StillServed()
	})
	t.Run("a client that stays over the limit is closed with 1008", func(t *testing.T) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(5 * time.Millisecond) // 200/s against a rate of 20/s
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if err := flooder.Conn.Write(t.Context(), websocket.MessageText, []byte(`{"event":"ping"}`)); err != nil {
						return
					}
				}
			}
		}()
		flooder.ExpectClose(websocket.StatusPolicyViolation)
		close(stop)
		wg.Wait()
		if got := calm.Expect("offer", "participants"); got.Event == "offer" {
			calm.Expect("participants")
		}
		calm.StillServed()
	})
}

// Frames that are not whole messages cost an eighth of one each, so that a
// flood of pongs or of never-ending fragments is kicked like any other.
func TestFrameFloodsAreRateLimited(t *testing.T) {
	cases := []struct {
		name  string
		start []byte // sent once
		flood []byte // then repeated until the server closes
	}{
		{"pong frames", nil, frame(ws.OpPong, true, nil)},
		{"empty fragments that never end", frame(ws.OpText, false, []byte("{")), frame(ws.OpContinuation, false, nil)},
	}
	srv := startServer(t, Config{Rate: 20, Burst: 10, RateKick: time.Second})
	bystander, mate := pairInRoom(t, srv, "calm")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, srv)
			r.upgrade()
			r.write(tc.start)
			batch := bytes.Repeat(tc.flood, 100)
			done := make(chan struct{})
			go func() {
				defer close(done)
				// Until the server closes, for --rate-kick and then some.
				for end := time.Now().Add(waitTimeout / 2); time.Now().Before(end); {
					if _, err := r.nc.Write(batch); err != nil {
						return
					}
				}
			}()
			r.expectClose(ws.StatusPolicyViolation)
			<-done
			bystander.Send("offer", map[string]any{"targetClientId": mate.ID, "offer": 1})
			mate.Expect("offer")
		})
	}
}

// Large messages count once per 4 KiB, so one room-mate's burst cannot pass
// --max-outbound and get a reader that is only slow dropped. The reader here
// does not read at all until the sender has been told it is over the rate.
func TestLargeMessagesCountByTheirSize(t *testing.T) {
	srv := startServer(t, Config{}) // the defaults: --rate 50, --burst 200, --max-outbound 1 MiB
	sender, reader := pairInRoom(t, srv, "r")
	offer := strings.Repeat("o", 60000) // counts as 15 messages
	for range 100 {                     // 6 MB if all were relayed
		sender.Send("offer", map[string]any{"targetClientId": reader.ID, "offer": offer})
	}
	sender.ExpectError("rate-limited", "")
	reader.Send("ping", map[string]any{})
	offers := 0
	for reader.Expect("offer", "pong").Event == "offer" {
		offers++
	}
	// 14 fit the burst of 200 at 15 each; every 100 ms tick of the clock
	// while they were being sent adds a third of one more.
	if offers < 14 || offers >= 100 {
		t.Fatalf("%d offers relayed, want at least the 14 of the burst and not all", offers)
	}
	if srv.Clients() != 2 {
		t.Fatalf("clients %d, want both still connected", srv.Clients())
	}
}

// fragmented splits msg into nonFinal one-byte frames, text then
// continuations, and a last continuation with the rest.
func fragmented(msg []byte, nonFinal int) []byte {
	b := frame(ws.OpText, false, msg[:1])
	for i := 1; i < nonFinal; i++ {
		b = append(b, frame(ws.OpContinuation, false, msg[i:i+1])...)
	}
	return append(b, frame(ws.OpContinuation, true, msg[nonFinal:])...)
}

// A message sent in fragments costs what it would cost whole: what its
// fragments paid on the way is given back when it completes.
func TestFragmentingCostsNothingExtra(t *testing.T) {
	// One message a second, two at once: a clock tick (100 ms) during the
	// test gives back a tenth of one, too little to change the outcome.
	srv := startServer(t, Config{Rate: 1, Burst: 2, RateKick: time.Minute})
	r := dialRaw(t, srv)
	r.upgrade()
	// 9 non-final fragments, the first and 8 more: one message's worth.
	b := fragmented([]byte(`{"event":"ping","data":{}}`), 9)
	r.write(append(b, ping()...)) // the burst's second message
	r.expectText("pong")
	r.expectText("pong")
}

// A message whose fragments come over the rate is dropped whole.
func TestFragmentedMessageOverTheRateIsDropped(t *testing.T) {
	// One message a second: a clock tick (100 ms) during the test gives
	// back a tenth of one, too little to let the fragments through.
	srv := startServer(t, Config{Rate: 1, Burst: 2, RateKick: time.Minute})
	r := dialRaw(t, srv)
	r.upgrade()
	msg := []byte(`{"event":"ping","data":{}}`)
	b := fragmented(msg, len(msg)-1) // 25 non-final fragments: over 3 messages' worth
	r.write(b)
	ev := r.expectText("error")
	if ev.Str(t, "code") != "rate-limited" {
		t.Fatalf("error %s, want rate-limited", ev.Data)
	}
	r.write(frame(ws.OpClose, true, []byte{0x03, 0xe8}))
	if f := r.readFrame(); f.Header.OpCode != ws.OpClose {
		t.Fatalf("got %v %q after the rate-limited error, want the close echoed and no pong", f.Header.OpCode, f.Payload)
	}
}

func TestRateLimitOff(t *testing.T) {
	srv := startServer(t, Config{Rate: -1, Burst: 1})
	c := dial(t, srv)
	for range 500 {
		c.Send("ping", map[string]any{})
	}
	for range 500 {
		c.Expect("pong")
	}
}

func TestCandidateSizeLimit(t *testing.T) {
	srv := startServer(t, Config{})
	a, b := pairInRoom(t, srv, "r")
	a.Send("ice-candidate", map[string]any{"targetClientId": b.ID, "candidate": strings.Repeat("c", 4096)})
	ev := a.ExpectError("bad-request", "ice-candidate")
	if !strings.Contains(ev.Str(t, "message"), "candidate") {
		t.Fatalf("the error should name the field: %s", ev.Data)
	}
	a.Send("offer", map[string]any{"targetClientId": b.ID, "offer": strings.Repeat("o", 60000)})
	b.Expect("offer")
}

// TestSlowConsumerIsDropped floods a client that has stopped reading: the
// server closes it once its queue passes --max-outbound and tells its room.
func TestSlowConsumerIsDropped(t *testing.T) {
	srv := startServer(t, Config{Rate: -1, MaxOutbound: 64 << 10})
	flooder := dial(t, srv)
	stalled := dialRaw(t, srv)
	stalledID := stalled.upgrade()
	flooder.Join("r")
	stalled.write(maskedText(`{"event":"join-room","data":{"roomId":"r"}}`))
	flooder.Expect("participants")
	// The stalled client never reads again.

	big := strings.Repeat("x", 50000)
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			ev, err := flooder.Read()
			if err != nil {
				return
			}
			if ev.Event == "participants" && len(ev.List(t, "participants")) == 1 {
				return
			}
		}
	}()
	sent := 0
	for ; sent < 2000; sent++ {
		select {
		case <-gone:
			sent = -1
		default:
		}
		if sent < 0 {
			break
		}
		flooder.Send("offer", map[string]any{"targetClientId": stalledID, "offer": big})
	}
	if sent >= 0 {
		select {
		case <-gone:
		case <-time.After(waitTimeout):
			t.Fatal("the stalled client was never dropped")
		}
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, clientsConnected(srv, 1))
	flooder.Send("ping", map[string]any{})
	for { // offers sent after the drop come back as target-not-found first
		if ev := flooder.Expect("pong", "error"); ev.Event == "pong" {
			break
		} else if ev.Str(t, "code") != "target-not-found" {
			t.Fatalf("error %s", ev.Data)
		}
	}
}

// TestADroppedClientGetsOneCloseFrame: a slow client can be queued again, and
// so dropped again, between the batch that dropped it and gnet closing its
// socket; it must still get one close frame, and nothing after it.
func TestADroppedClientGetsOneCloseFrame(t *testing.T) {
	srv := startServer(t, Config{})
	r := dialRaw(t, srv)
	id := r.upgrade()
	onClientsLoop(srv, id, func(c *conn) {
		c.close(ws.StatusPolicyViolation, "not reading fast enough")
		c.close(ws.StatusPolicyViolation, "not reading fast enough")
	})
	r.expectClose(ws.StatusPolicyViolation)
}

// TestTheLargestMessageFitsTheSmallestOutboundLimit: --max-outbound limits
// what piles up behind a message, so the largest message a client may send
// reaches its room-mate even with the limit at its smallest, where the
// relayed frame (with its header) is a few bytes larger than the limit.
func TestTheLargestMessageFitsTheSmallestOutboundLimit(t *testing.T) {
	srv := startServer(t, Config{MaxOutbound: 64 << 10})
	sender, reader := pairInRoom(t, srv, "big")
	empty, err := json.Marshal(map[string]any{"event": "offer", "data": map[string]any{"targetClientId": reader.ID, "offer": ""}})
	if err != nil {
		t.Fatal(err)
	}
	offer := strings.Repeat("o", DefaultMaxMessage-len(empty)) // the message is DefaultMaxMessage bytes
	sender.Send("offer", map[string]any{"targetClientId": reader.ID, "offer": offer})
	if got := reader.Expect("offer").Str(t, "offer"); got != offer {
		t.Fatalf("offer of %d bytes relayed as %d", len(offer), len(got))
	}
	stillRelaying(t, sender, reader)
}

func TestAllowedOrigins(t *testing.T) {
	srv := startServer(t, Config{AllowedOrigins: []string{"https://app.example.com", "http://localhost:3000", "http://[::1]:8080"}})
	mate, other := pairInRoom(t, srv, "calm")
	for _, tc := range []struct {
		name, origin string
		status       int
	}{
		{"allowed origin", "https://app.example.com", 101},
		{"allowed origin, other case", "https://APP.example.com", 101},
		{"allowed origin with a port", "http://localhost:3000", 101},
		{"allowed IPv6 origin with a port", "http://[::1]:8080", 101},
		{"allowed host on another port", "http://localhost:3001", 403},
		{"other origin", "https://evil.example.net", 403},
		{"no Origin header (not a browser)", "", 101},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, srv)
			req := upgradeRequest
			if tc.origin != "" {
				req = strings.Replace(req, "\r\n\r\n", "\r\nOrigin: "+tc.origin+"\r\n\r\n", 1)
			}
			r.write([]byte(req))
			if resp := r.response(); resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			stillRelaying(t, mate, other)
		})
	}
}

// stillRelaying checks that two room-mates can still reach each other.
func stillRelaying(t *testing.T, from, to *testkit.Client) {
	t.Helper()
	from.Send("offer", map[string]any{"targetClientId": to.ID, "offer": "still here"})
	if ev := to.Expect("offer"); ev.Str(t, "fromClientId") != from.ID {
		t.Fatalf("offer %s", ev.Data)
	}
}

func TestHandshakeKeyMustBeBase64Of16Bytes(t *testing.T) {
	srv := startServer(t, Config{})
	mate, other := pairInRoom(t, srv, "calm")
	for _, key := range []string{"!!!!!!!!!!!!!!!!!!!!!!==", strings.Repeat("A", 29), "c2hvcnQ="} {
		r := dialRaw(t, srv)
		r.write([]byte(strings.Replace(upgradeRequest, "dGhlIHNhbXBsZSBub25jZQ==", key, 1)))
		if resp := r.response(); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("key %q: status %d", key, resp.StatusCode)
		}
		stillRelaying(t, mate, other)
	}
}

// Leaving a room puts the client back on --join-timeout's clock: otherwise
// joining once would hold a seat under --clients for good.
func TestJoinTimeoutAppliesAgainAfterLeaving(t *testing.T) {
	srv := startServer(t, Config{JoinTimeout: 500 * time.Millisecond})
	leaver := dial(t, srv)
	member := dial(t, srv)
	member.Join("r")
	leaver.Join("r")
	member.Expect("participants")
	leaver.Send("leave-room", map[string]any{})
	leaver.Expect("room-left")
	leaver.ExpectError("join-timeout", "")
	leaver.ExpectClose(websocket.StatusPolicyViolation)
	member.Expect("participants")
	member.StillServed()
}

func TestJoinTimeout(t *testing.T) {
	srv := startServer(t, Config{JoinTimeout: 500 * time.Millisecond})
	idler := dial(t, srv)
	member := dial(t, srv)
	member.Join("r")
	idler.ExpectError("join-timeout", "")
	idler.ExpectClose(websocket.StatusPolicyViolation)
	member.StillServed()
	// The close frame goes out before the socket is closed and the client
	// removed, so the count may lag the frame by a moment.
	testkit.CheckFor(t, waitTimeout, pollEvery, clientsConnected(srv, 1))
}

func TestPanicInAHandlerClosesOnlyThatClient(t *testing.T) {
	srv := startServerWith(t, Config{}, testHooks{beforeDispatch: func(payload []byte) {
		if bytes.Contains(payload, []byte("trigger-a-bug")) {
			panic("a bug in a handler")
		}
	}})
	victim, bystander := pairInRoom(t, srv, "r")

	victim.Send("ping", map[string]any{"note": "trigger-a-bug"})
	victim.ExpectClose(websocket.StatusInternalError)
	if got := bystander.Expect("participants").List(t, "participants"); len(got) != 1 {
		t.Fatalf("participants %v", got)
	}
	bystander.StillServed()
	dial(t, srv).Join("r")
}

// TestPanicWhileWritingClosesOnlyThatClient: a bug met while a loop writes
// what is queued for one client costs that client, as a bug in a handler
// does, and nobody else: what the loop writes in the same round for the
// others still goes out.
func TestPanicWhileWritingClosesOnlyThatClient(t *testing.T) {
	srv := startServerWith(t, Config{}, testHooks{beforeFlush: func(buf []byte) {
		if bytes.Contains(buf, []byte("trigger-a-write-bug")) {
			panic("a bug while writing")
		}
	}})
	sender, victim := pairInRoom(t, srv, "r")
	bystander := dial(t, srv)
	bystander.Join("r")
	sender.Expect("participants")
	victim.Expect("participants")

	sender.Send("ice-candidate", map[string]any{"targetClientId": victim.ID, "candidate": "trigger-a-write-bug"})
	sender.Send("ice-candidate", map[string]any{"targetClientId": bystander.ID, "candidate": "in the same round, maybe"})
	victim.ExpectClose(websocket.StatusInternalError)
	// The victim's departure may reach the bystander before the candidate.
	seen := map[string]testkit.Event{}
	for range 2 {
		ev := bystander.Expect("ice-candidate", "participants")
		seen[ev.Event] = ev
	}
	if ev, ok := seen["ice-candidate"]; !ok || ev.Str(t, "candidate") != "in the same round, maybe" {
		t.Fatalf("bystander got %v, want the candidate and the participants", seen)
	}
	for _, ev := range []testkit.Event{seen["participants"], sender.Expect("participants")} {
		if got := ev.List(t, "participants"); len(got) != 2 {
			t.Fatalf("participants %v, want the two left", got)
		}
	}
	sender.StillServed()
	bystander.StillServed()
}

// A departure whose announcement fails must still give the client's seat
// back: otherwise every such failure would count against --clients for good.
func TestPanicAnnouncingADepartureStillFreesTheSeat(t *testing.T) {
	srv := startServerWith(t, Config{Clients: 2}, testHooks{beforeLeftAnnounced: func(roomID string) {
		if roomID == "cursed" {
			panic("a bug in an announcement")
		}
	}})
	leaver, stayer := pairInRoom(t, srv, "cursed")
	_ = leaver.Conn.CloseNow()
	testkit.CheckFor(t, waitTimeout, pollEvery, clientsConnected(srv, 1))
	// The seat is really free: a new client gets in under --clients 2.
	dial(t, srv).Join("elsewhere")
	stayer.StillServed()
}

// TestChurnLeavesNothingBehind runs 10,000 connect, join, leave, disconnect
// cycles and checks the tables are empty and no goroutine was left behind.
func TestChurnLeavesNothingBehind(t *testing.T) {
	cycles := 10000
	if testing.Short() {
		cycles = 1000
	}
	srv := startServer(t, Config{Clients: 1000, Rooms: 1000})
	goroutines := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapInuse

	const workers = 16
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < cycles; i += workers {
				if err := churnOnce(srv, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	testkit.CheckFor(t, waitTimeout, pollEvery, tablesEmpty(srv))
	testkit.CheckFor(t, waitTimeout, pollEvery, func() error {
		if n := runtime.NumGoroutine(); n > goroutines {
			return fmt.Errorf("%d goroutines, want at most the %d at the start", n, goroutines)
		}
		return nil
	})
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if grown := int64(ms.HeapInuse) - int64(heapBefore); grown > 8<<20 {
		t.Fatalf("heap grew by %d bytes over %d cycles", grown, cycles)
	}
}

func churnOnce(srv *Server, i int) error {
	r, err := rawDialErr(srv)
	if err != nil {
		return err
	}
	defer r.nc.Close()
	room := []byte(`{"event":"join-room","data":{"roomId":"churn-` + string(rune('a'+i%26)) + `"}}`)
	if _, err := r.nc.Write(append([]byte(upgradeRequest), frame(ws.OpText, true, room)...)); err != nil {
		return err
	}
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	for { // client-id, maybe room-created, room-joined, then participants
		f, err := ws.ReadFrame(r.br)
		if err != nil {
			return err
		}
		if bytes.Contains(f.Payload, []byte(`"room-joined"`)) {
			break
		}
	}
	_, err = r.nc.Write(frame(ws.OpText, true, []byte(`{"event":"leave-room"}`)))
	if err != nil {
		return err
	}
	for {
		f, err := ws.ReadFrame(r.br)
		if err != nil {
			return err
		}
		if bytes.Contains(f.Payload, []byte(`"room-left"`)) {
			return nil
		}
	}
}
