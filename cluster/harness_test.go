package cluster_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/redrtc/redrtc/cluster"
	"github.com/redrtc/redrtc/loop"
)

// embeddedNATS is a NATS server with JetStream in the test process, which a
// test may stop and start again on the same port.
type embeddedNATS struct {
	t    testing.TB
	opts natsserver.Options
	srv  *natsserver.Server
	URL  string
}

func startNATS(t testing.TB) *embeddedNATS {
	t.Helper()
	e := &embeddedNATS{t: t, opts: natsserver.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true,
	}}
	e.Start()
	e.opts.Port = e.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(e.Stop)
	return e
}

// Start starts the server (again).
func (e *embeddedNATS) Start() {
	e.t.Helper()
	opts := e.opts
	srv, err := natsserver.NewServer(&opts)
	if err != nil {
		e.t.Fatalf("nats server: %v", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		e.t.Fatal("nats server not ready in 10 s")
	}
	e.srv = srv
	e.URL = srv.ClientURL()
}

// Stop stops the server; its connections drop.
func (e *embeddedNATS) Stop() {
	if e.srv != nil {
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
		e.srv = nil
	}
}

// node is one RedRTC server of a test's cluster.
type node struct {
	srv  *loop.Server
	node *cluster.Node
	URL  string
}

// nodeOptions tune a test's node.
type nodeOptions struct {
	timeout time.Duration // --node-timeout; 0 for the default
	rooms   int
}

func startNode(t testing.TB, natsURL, id string, o nodeOptions) *node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := cluster.Connect(ctx, cluster.Config{URLs: []string{natsURL}, NodeID: id, NodeTimeout: o.timeout, RoomLimit: o.rooms})
	if err != nil {
		t.Fatalf("node %s: %v", id, err)
	}
	srv, err := loop.Start(loop.Config{Interface: "127.0.0.1", Cluster: n, Rooms: o.rooms, ResumeSecret: n.ResumeSecret()})
	if err != nil {
		t.Fatalf("node %s: %v", id, err)
	}
	if err := n.Attach(ctx, srv); err != nil {
		t.Fatalf("node %s: %v", id, err)
	}
	nd := &node{srv: srv, node: n, URL: "ws://" + srv.Addr().String() + "/"}
	t.Cleanup(nd.stop)
	return nd
}

// stop stops the node as a server does on SIGTERM, once.
func (nd *node) stop() {
	if nd.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = nd.srv.Stop(ctx)
	_ = nd.node.Close(ctx)
	nd.srv = nil
}

// startCluster starts n nodes on one NATS server.
func startCluster(t testing.TB, nats *embeddedNATS, n int, o nodeOptions) []*node {
	nodes := make([]*node, n)
	for i := range nodes {
		nodes[i] = startNode(t, nats.URL, fmt.Sprintf("n%d", i+1), o)
	}
	return nodes
}

// kill ends the node as SIGKILL would, as far as the others can tell: its
// NATS connection drops with nothing written to the bucket, its heartbeats
// stop, and its clients' sockets close.
func (nd *node) kill() {
	nd.node.Kill()
	stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	_ = nd.srv.Stop(stopCtx)
	nd.srv = nil
}
