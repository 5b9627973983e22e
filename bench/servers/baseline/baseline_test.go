package main

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/redrtc/redrtc/internal/conformance"
)

// startBaseline runs the baseline in-process on 127.0.0.1 with a free port.
func startBaseline(t *testing.T, clients, rooms int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(config{clients: clients, rooms: rooms, timeout: 300 * time.Second, log: log.New(io.Discard, "", 0)})
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = hs.Close()
		srv.closeAll()
	})
	return "ws://" + ln.Addr().String() + "/"
}

func TestSmoke(t *testing.T) {
	url := startBaseline(t, 64, 16)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := conformance.Run(ctx, url); err != nil {
		t.Fatal(err)
	}
}

func TestServerFull(t *testing.T) {
	url := startBaseline(t, 1, 16)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := conformance.Dial(ctx, url, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = conformance.Dial(ctx, url, "b")
	if err == nil {
		t.Fatal("a second client was admitted past --clients 1")
	}
	t.Log(err)
}

func TestRoomLimit(t *testing.T) {
	url := startBaseline(t, 8, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := conformance.Dial(ctx, url, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := conformance.Dial(ctx, url, "b")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Send("join-room", map[string]any{"roomId": "one"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Expect("room-created"); err != nil {
		t.Fatal(err)
	}
	if err := b.Send("join-room", map[string]any{"roomId": "two"}); err != nil {
		t.Fatal(err)
	}
	if err := b.ExpectError("room-limit"); err != nil {
		t.Fatal(err)
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-c", "0"}, {"-c", "65537"}, {"-r", "10001"}, {"-t", "10"}, {"-p", "0"}, {"extra"}, {"--debug-addr", "127.0.0.1:-0"}, {"--debug-addr", "6060"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	o, err := parseFlags([]string{"--port", "9000", "-i", "127.0.0.1", "--clients", "20000", "-r", "4000"}, io.Discard)
	if err != nil || o.port != 9000 || o.iface != "127.0.0.1" || o.clients != 20000 || o.rooms != 4000 {
		t.Fatalf("%+v %v", o, err)
	}
}
