package testkit

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestNATSServerRelaysAndHasJetStream: the server StartNATS runs takes a
// client, relays a message to a subscriber, answers for JetStream, and
// keeps a file stream's messages across Stop and Start, on the same URL.
func TestNATSServerRelaysAndHasJetStream(t *testing.T) {
	n := StartNATS(t)
	nc := connectNATS(t, n.URL)
	sub, err := nc.SubscribeSync("redrtc.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("redrtc.test", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.NextMsg(Timeout)
	if err != nil || string(msg.Data) != "hello" {
		t.Fatalf("received %v, %v; want hello", msg, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		t.Fatalf("JetStream account info: %v", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "KEPT", Subjects: []string{"kept"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "kept", []byte("across restarts")); err != nil {
		t.Fatal(err)
	}
	nc.Close()

	url := n.URL
	n.Stop()
	if n.Running() {
		t.Fatal("running after Stop")
	}
	if nc, err := nats.Connect(url, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatalf("%s still takes clients after Stop", url)
	}
	n.Start()
	if n.URL != url {
		t.Fatalf("URL %s after Start, want %s", n.URL, url)
	}
	nc = connectNATS(t, n.URL)
	js, err = jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	CheckFor(t, Timeout, 10*time.Millisecond, func() error {
		s, err := js.Stream(ctx, "KEPT")
		if err != nil {
			return fmt.Errorf("the stream after the restart: %w", err)
		}
		m, err := s.GetLastMsgForSubject(ctx, "kept")
		if err != nil {
			return fmt.Errorf("the stream's last message after the restart: %w", err)
		}
		if string(m.Data) != "across restarts" {
			return GiveUp(fmt.Errorf("last message %q, want %q", m.Data, "across restarts"))
		}
		return nil
	})
}

// TestNATSServerKillLosesClients: Kill is a crash, seen by a client as a
// lost connection, which it gets back once the server is started again.
func TestNATSServerKillLosesClients(t *testing.T) {
	n := StartNATS(t)
	disconnected, reconnected := make(chan struct{}, 1), make(chan struct{}, 1)
	nc := connectNATS(t, n.URL,
		nats.ReconnectWait(10*time.Millisecond),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { disconnected <- struct{}{} }),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} }))
	n.Kill()
	awaitSignal(t, disconnected, "the client's disconnect")
	if nc.IsConnected() {
		t.Fatal("the client is connected to a killed server")
	}
	n.Start()
	awaitSignal(t, reconnected, "the client's reconnect")
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush after the reconnect: %v", err)
	}
}

func connectNATS(t *testing.T, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, append([]nats.Option{nats.Timeout(Timeout)}, opts...)...)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func awaitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(Timeout):
		t.Fatalf("no sign of %s within %v", what, Timeout)
	}
}

// TestMakefileBuildsTheEmbeddedNATSVersion: `make nats-server` builds the
// release whose module the unit tests embed (go.mod), so that the tests
// against a real server and those against the embedded one test one NATS.
func TestMakefileBuildsTheEmbeddedNATSVersion(t *testing.T) {
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	built := submatch(`(?m)^NATS_SERVER_VERSION\s*:=\s*(\S+)$`, makefile)
	embedded := submatch(`(?m)^\s*github\.com/nats-io/nats-server/v2 (v\S+)`, gomod)
	if built == "" || built != embedded {
		t.Fatalf("the Makefile's NATS_SERVER_VERSION is %q, go.mod's nats-server/v2 %q: want one version", built, embedded)
	}
}

// submatch returns the first group of pattern's first match in text, or "".
func submatch(pattern string, text []byte) string {
	if m := regexp.MustCompile(pattern).FindSubmatch(text); m != nil {
		return string(m[1])
	}
	return ""
}
