package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// Defaults of Config's zero fields.
const (
	DefaultName        = "redrtc"
	DefaultNodeTimeout = 10 * time.Second
	MinNodeTimeout     = 1 * time.Second
	MaxNodeTimeout     = 10 * time.Minute
)

// Config is a node's cluster configuration. Zero fields mean the defaults;
// Connect validates it once.
type Config struct {
	// URLs are the NATS servers to connect to (--nats-url), any of which
	// will do; credentials may be in them as nats.go allows.
	URLs []string
	// Name keeps clusters that share one NATS apart (--cluster-name): it
	// prefixes every subject and names the bucket. Default "redrtc".
	Name string
	// NodeID names this node to the others (--node-id); default the host
	// name and six random hex digits. [A-Za-z0-9_-], at most 64.
	NodeID string
	// NodeTimeout is how long a node may be silent before the others take
	// it for lost and free its members' seats (--node-timeout, default 10 s).
	NodeTimeout time.Duration
	// Replicas is how many NATS servers keep the membership bucket (1 with
	// one NATS server; 3 with a cluster of three). Default 1.
	Replicas int
	// RoomLimit is --rooms: the most rooms with a member on this node.
	RoomLimit int
	// CredsFile, Token, CAFile, CertFile and KeyFile authenticate to NATS
	// and secure the connection, as nats.go takes them (--nats-creds,
	// --nats-token-file, --nats-ca, --nats-cert, --nats-key).
	CredsFile, Token, CAFile, CertFile, KeyFile string
	// Logger receives the cluster's logs (default: none).
	Logger *zerolog.Logger
}

var validID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// withDefaults fills c's zero fields.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.NodeID == "" {
		id, err := DefaultNodeID()
		if err != nil {
			return c, err
		}
		c.NodeID = id
	}
	if c.NodeTimeout == 0 {
		c.NodeTimeout = DefaultNodeTimeout
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Logger == nil {
		nop := zerolog.Nop()
		c.Logger = &nop
	}
	return c, nil
}

// Validate reports the first field out of its range, naming its flag.
func (c Config) Validate() error {
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	switch {
	case len(c.URLs) == 0:
		return errors.New("--nats-url: no NATS server given")
	case !validID.MatchString(c.Name):
		return fmt.Errorf("--cluster-name %q: use 1 to 64 of A-Z a-z 0-9 _ -", c.Name)
	case !validID.MatchString(c.NodeID):
		return fmt.Errorf("--node-id %q: use 1 to 64 of A-Z a-z 0-9 _ -", c.NodeID)
	case c.NodeTimeout < MinNodeTimeout || c.NodeTimeout > MaxNodeTimeout:
		return fmt.Errorf("--node-timeout must be %v to %v, got %v", MinNodeTimeout, MaxNodeTimeout, c.NodeTimeout)
	case c.Replicas < 1 || c.Replicas > 5:
		return fmt.Errorf("replicas must be 1 to 5, got %d", c.Replicas)
	case (c.CertFile == "") != (c.KeyFile == ""):
		return errors.New("--nats-cert and --nats-key go together")
	}
	for _, u := range c.URLs {
		if strings.TrimSpace(u) == "" {
			return errors.New("--nats-url: an empty server address")
		}
	}
	return nil
}

// DefaultNodeID is the host name and six random hex digits, so that two
// processes on one host, or a restarted one, are different nodes.
func DefaultNodeID() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	host = regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(host, "-")
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	if len(host) > 57 {
		host = host[:57]
	}
	return host + "-" + hex.EncodeToString(b[:]), nil
}

// natsOptions are the connection's options: the configured credentials and
// TLS, reconnecting for ever, pings often enough that a silent NATS is
// noticed within NodeTimeout, and no buffering of publishes while
// disconnected, so that a relay across nodes fails loudly rather than
// waiting in a buffer (docs/cluster.md).
func (c Config) natsOptions(h handlers) []nats.Option {
	opts := []nats.Option{
		nats.Name("redrtc " + c.NodeID),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.PingInterval(max(c.NodeTimeout/4, 250*time.Millisecond)),
		nats.MaxPingsOutstanding(2),
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(h.disconnected),
		nats.ReconnectHandler(h.reconnected),
		nats.ClosedHandler(h.closed),
		nats.ErrorHandler(h.asyncError),
	}
	if c.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.Token != "" {
		opts = append(opts, nats.Token(c.Token))
	}
	if c.CAFile != "" {
		opts = append(opts, nats.RootCAs(c.CAFile))
	}
	if c.CertFile != "" {
		opts = append(opts, nats.ClientCert(c.CertFile, c.KeyFile))
	}
	return opts
}

// handlers are the connection's event callbacks.
type handlers struct {
	disconnected func(*nats.Conn, error)
	reconnected  func(*nats.Conn)
	closed       func(*nats.Conn)
	asyncError   func(*nats.Conn, *nats.Subscription, error)
}
