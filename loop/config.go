package loop

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/redrtc/redrtc/auth"
)

// Defaults and ranges, kept from the C server this one replaces. Limits
// ties each to its flag, range and help.
const (
	DefaultClients     = 1024
	MaxClients         = 65536
	DefaultRooms       = 256
	MaxRooms           = 10000
	DefaultTimeout     = 300 * time.Second
	MinTimeout         = 30 * time.Second
	DefaultMaxMessage  = 64 << 10
	DefaultRate        = 50
	DefaultBurst       = 200
	DefaultRateKick    = 10 * time.Second
	DefaultMaxOutbound = 1 << 20
	DefaultJoinTimeout = 60 * time.Second
	DefaultResumeGrace = 30 * time.Second
	// HandshakeTimeout closes a connection that has not finished its HTTP
	// upgrade, so that half-sent requests cannot hold descriptors forever.
	HandshakeTimeout = 5 * time.Second
	// MaxHeaderBytes caps the HTTP upgrade request; more gets 431.
	MaxHeaderBytes = 8 << 10
)

// Config is the whole configuration of a Server. Zero fields mean the
// defaults; Start validates it once, and nothing reads flags or globals after
// that. Each numeric field's flag, range and default are in one place, the
// table Limits returns, which the command line and the docs read too.
type Config struct {
	// Port to listen on (--port); 0 means any free port (Server.Addr
	// reports it), where the command line's default is 8080.
	Port int
	// Interface is an IP address or an interface name (lo, eth0) to listen
	// on; "" or "all" means every interface.
	Interface string
	// Clients is the most clients connected at once (--clients).
	Clients int
	// Rooms is the most rooms open at once (--rooms).
	Rooms int
	// Timeout closes a client after this long without a frame from it
	// (--timeout). Ping frames go out at a third of it, so live clients
	// never reach it.
	Timeout time.Duration
	// MaxMessage is the largest message, fragments included, in bytes; a
	// larger one closes the connection with 1009.
	MaxMessage int
	// Rate is each client's sustained message rate, in messages per second
	// (--rate). A negative Rate turns rate limiting off, which is what
	// --rate 0 means.
	Rate int
	// Burst is how many messages a client may send at once above Rate
	// (--burst; the default is enough for a burst of trickled candidates).
	Burst int
	// RateKick closes (1008) a client that stays over its rate this long
	// (--rate-kick).
	RateKick time.Duration
	// MaxOutbound caps the bytes the server holds for a client that does not
	// read them, queued or in gnet's buffer; past it the client is closed
	// with 1008 (--max-outbound; docs/security.md says exactly what counts).
	MaxOutbound int
	// JoinTimeout closes a client that has been in no room this long since
	// connecting or leaving a room, after an error event (--join-timeout).
	JoinTimeout time.Duration
	// ResumeGrace is how long a resumable client's session outlives a
	// dropped socket, for a new connection to resume it (--resume-grace,
	// docs/protocol.md); negative turns resume off, as --resume-grace 0.
	ResumeGrace time.Duration
	// AllowedOrigins lists the browser origins (scheme://host[:port]) that
	// may connect; empty or "*" allows every origin. Requests without an
	// Origin header, which browsers always send, are not affected.
	AllowedOrigins []string
	// Auth verifies room tokens (--auth-secret, --auth-public-key); nil
	// lets every client join any room. docs/security.md has the model.
	Auth *auth.Verifier
	// ICE hands out the iceServers of room-joined (--turn-secret,
	// --turn-uris, --stun-uris, --turn-ttl); nil sends none.
	ICE *auth.ICE
	// Static maps request paths ("/", "/sdk/index.js") to files served to
	// plain GETs (--demo; not for production): none by default.
	Static map[string]StaticFile
	// Cluster makes the server a node of a cluster (--nats-url,
	// docs/cluster.md); nil is a lone server.
	Cluster Cluster
	// EventLoops is the number of event loops (default: one per CPU).
	EventLoops int
	// Logger receives the server's logs (default: none).
	Logger *zerolog.Logger
}

// withDefaults returns c with its zero fields filled in.
func (c Config) withDefaults() Config {
	for _, l := range limits {
		l.withDefault(&c)
	}
	if c.Logger == nil {
		nop := zerolog.Nop()
		c.Logger = &nop
	}
	return c
}

// Validate reports the first field out of its range, naming its flag.
func (c Config) Validate() error { return c.withDefaults().validate(MinTimeout) }

func (c Config) validate(minTimeout time.Duration) error {
	for _, l := range limits {
		if err := l.validate(&c, minTimeout); err != nil {
			return err
		}
	}
	if c.EventLoops < 0 {
		return fmt.Errorf("event loops must not be negative, got %d", c.EventLoops)
	}
	for _, o := range c.AllowedOrigins {
		switch {
		case o == "*":
		case strings.Contains(o, "*"):
			return fmt.Errorf("--allowed-origins: %q is a pattern; list each origin, like https://app.example.com", o)
		case !validOrigin(o):
			return fmt.Errorf("--allowed-origins: %q is not an origin like https://example.com", o)
		}
	}
	if err := validateStatic(c.Static); err != nil {
		return err
	}
	if _, err := c.listenIP(); err != nil {
		return err
	}
	return nil
}

// validOrigin reports whether o is scheme://host[:port], exactly as browsers
// send it in the Origin header (no path, not even a trailing slash, and no
// user), so that an entry that could never match is refused at start.
func validOrigin(o string) bool {
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
		return false
	}
	if p := u.Port(); p != "" || strings.HasSuffix(u.Host, ":") {
		n, err := strconv.Atoi(p)
		return err == nil && n >= 1 && n <= 65535 && p[0] != '0'
	}
	return true
}

// listenIP resolves Interface to the address to bind; "" means all.
func (c Config) listenIP() (string, error) {
	if c.Interface == "" || c.Interface == "all" {
		return "", nil
	}
	if ip := net.ParseIP(c.Interface); ip != nil {
		return ip.String(), nil
	}
	ifi, err := net.InterfaceByName(c.Interface)
	if err != nil {
		return hostAddr(c.Interface)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return "", fmt.Errorf("--interface %q: %w", c.Interface, err)
	}
	var v6 string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ipn.IP.To4() != nil {
			return ipn.IP.String(), nil
		}
		if v6 == "" && !ipn.IP.IsLinkLocalUnicast() {
			v6 = ipn.IP.String()
		}
	}
	if v6 != "" {
		return v6, nil
	}
	return "", fmt.Errorf("--interface %q has no usable address", c.Interface)
}
