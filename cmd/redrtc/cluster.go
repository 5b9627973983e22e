package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/redrtc/redrtc/admin"
	"github.com/redrtc/redrtc/cluster"
	"github.com/redrtc/redrtc/loop"
)

// natsTokenEnv carries the NATS token instead of the command line.
const natsTokenEnv = "REDRTC_NATS_TOKEN"

// clusterFlags are the flags of a node of a cluster (docs/cluster.md).
type clusterFlags struct {
	urls, name, nodeID              string
	nodeTimeout                     int
	creds, tokenFile, ca, cert, key string
}

// clusterUsage is --help for clusterFlags.
const clusterUsage = `      --nats-url LIST   make this server a node of a cluster: comma-separated
                        NATS server URLs (nats://host:4222); off by default
                        (docs/cluster.md)
      --node-id ID      this node's name in the cluster (default: host name
                        and 6 random hex digits)
      --node-timeout N  seconds a node may be silent before the others take
                        it for lost and free its members' seats (1-600;
                        default 10)
      --cluster-name NAME  keeps clusters sharing one NATS apart: subject
                        prefix and bucket name (default redrtc)
      --nats-creds FILE  NATS credentials file (JWT and NKey)
      --nats-token-file FILE  read the NATS token from FILE (or set
                        REDRTC_NATS_TOKEN)
      --nats-ca FILE, --nats-cert FILE, --nats-key FILE  TLS to NATS: the
                        CA to trust, and this node's certificate and key
`

func (f *clusterFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.urls, "nats-url", "", "")
	fs.StringVar(&f.name, "cluster-name", cluster.DefaultName, "")
	fs.StringVar(&f.nodeID, "node-id", "", "")
	fs.IntVar(&f.nodeTimeout, "node-timeout", int(cluster.DefaultNodeTimeout/time.Second), "")
	fs.StringVar(&f.creds, "nats-creds", "", "")
	fs.StringVar(&f.tokenFile, "nats-token-file", "", "")
	fs.StringVar(&f.ca, "nats-ca", "", "")
	fs.StringVar(&f.cert, "nats-cert", "", "")
	fs.StringVar(&f.key, "nats-key", "", "")
}

// config is the cluster's configuration, nil without --nats-url; it is
// validated here, with the other flags.
func (f *clusterFlags) config(rooms int, getenv func(string) string) (*cluster.Config, error) {
	if f.urls == "" {
		return nil, nil
	}
	var urls []string
	for u := range strings.SplitSeq(f.urls, ",") {
		urls = append(urls, strings.TrimSpace(u))
	}
	token, err := secretFrom("nats-token", "", f.tokenFile, natsTokenEnv, getenv)
	if err != nil {
		return nil, err
	}
	cfg := &cluster.Config{
		URLs: urls, Name: f.name, NodeID: f.nodeID, NodeTimeout: time.Duration(f.nodeTimeout) * time.Second,
		RoomLimit: rooms, CredsFile: f.creds, Token: string(token), CAFile: f.ca, CertFile: f.cert, KeyFile: f.key,
	}
	if f.nodeTimeout <= 0 {
		return nil, fmt.Errorf("--node-timeout must be 1 to %d seconds, got %d", int(cluster.MaxNodeTimeout/time.Second), f.nodeTimeout)
	}
	return cfg, cfg.Validate()
}

// joinCluster connects to NATS before the client port listens, so that a
// node that cannot reach it does not start.
func joinCluster(opts *options, log *zerolog.Logger) (*cluster.Node, error) {
	if opts.cluster == nil {
		return nil, nil
	}
	cfg := *opts.cluster
	cfg.Logger = log
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	node, err := cluster.Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	opts.cfg.Cluster = node
	return node, nil
}

// clusterStartTimeout bounds connecting to NATS and reading the rooms.
const clusterStartTimeout = 30 * time.Second

// attachCluster hands the running server to the node.
func attachCluster(node *cluster.Node, srv *loop.Server) error {
	if node == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	return node.Attach(ctx, srv)
}

// leaveCluster writes what is left to write and disconnects.
func leaveCluster(node *cluster.Node, log *zerolog.Logger) {
	if node == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := node.Close(ctx); err != nil {
		log.Error().Err(err).Msg("leaving the cluster")
	}
}

// clusterCounts is the node's counts for the admin listener, nil when
// the server is alone.
func clusterCounts(node *cluster.Node) *admin.ClusterCounts {
	if node == nil {
		return nil
	}
	s := node.Stats()
	return &admin.ClusterCounts{
		Connected: s.Connected, Nodes: s.Nodes, RemoteMembers: s.RemoteMembers,
		RelayedOut: s.RelayedOut, BatchesOut: s.BatchesOut, RelayedIn: s.RelayedIn,
		DroppedIn: s.DroppedIn, RelaysLost: s.RelaysLost, NodeLosses: s.NodeLosses, SlowConsumer: s.SlowConsumer,
	}
}
