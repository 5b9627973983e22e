package orchestrate

// Which servers a run measures: built here, given as binaries, or running
// elsewhere (-url), and how each is checked before it is measured.

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/redrtc/redrtc/auth"
	"github.com/redrtc/redrtc/bench/internal/target"
	"github.com/redrtc/redrtc/internal/conformance"
)

// localServers builds (or takes) the servers to measure.
func localServers(ctx context.Context, f *flags, root string, rootErr error, tmp string, logf func(string, ...any)) ([]*target.Server, error) {
	known := map[string]struct {
		display, binary, pkg string
		smoke                string // "skipped" for a server the smoke test is not run on
	}{
		"redrtc":   {"RedRTC", f.redrtcBin, "cmd/redrtc", ""},
		"baseline": {"baseline", f.baselineBin, "bench/servers/baseline", ""},
		// The floor answers no bad input, by design.
		"floor": {target.FloorName, "", "bench/servers/floor", "skipped"},
		// RedRTC with access tokens on: every join carries an HS256 token,
		// and the conformance suite, which sends none, is not run.
		tokensKey: {"RedRTC+tokens", f.redrtcBin, "cmd/redrtc", "skipped"},
		// Always a given binary, so never built.
		compareKey: {target.CompareName, f.compareBin, "", ""},
	}
	names, err := serverNames(f)
	if err != nil {
		return nil, err
	}
	var kinds []*target.Server
	for _, name := range names {
		s, ok := known[name]
		if !ok {
			return nil, fmt.Errorf("-servers: unknown server %q (redrtc, %s, baseline, floor; %s with -compare)", name, tokensKey, compareKey)
		}
		k := target.Server{Name: s.display, Binary: s.binary, Smoke: s.smoke}
		if k.Binary == "" {
			if rootErr != nil {
				return nil, rootErr
			}
			k.Binary = filepath.Join(tmp, name)
			logf("building ./%s", s.pkg)
			if err := target.Build(ctx, root, s.pkg, k.Binary); err != nil {
				return nil, err
			}
		}
		if name == "redrtc" || name == compareKey || name == tokensKey {
			k.Extra = redrtcExtraArgs(k.Binary)
		}
		if name == tokensKey {
			k.Extra = append(k.Extra, "--auth-secret", tokensSecret)
			if k.Token, err = auth.Sign([]byte(tokensSecret), auth.AnyRoom, 24*time.Hour, "", "", time.Now()); err != nil {
				return nil, err
			}
		}
		if f.profile {
			if k.Profiled = target.HelpMentions(k.Binary, "debug-addr"); !k.Profiled {
				logf("%s has no --debug-addr flag: it will not be profiled", s.display)
			}
		}
		k.Version = target.VersionOf(k.Binary)
		kinds = append(kinds, &k)
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("no server to measure")
	}
	return kinds, nil
}

// tokensKey is the -servers name of RedRTC with access tokens on, and
// tokensSecret its HS256 secret, which guards nothing but the bench's rooms.
const (
	tokensKey    = "redrtc-tokens"
	tokensSecret = "redrtc-bench-secret-not-for-production"
)

// redrtcExtraArgs turns off what would cap or cut the benchmark, where
// RedRTC has the flag: per-client rate limiting (the relay runs send as fast
// as they can), and the join timeout (beyond 60,000 clients, --rooms leaves
// the rest without a room, on purpose).
func redrtcExtraArgs(bin string) []string {
	var extra []string
	if target.HelpMentions(bin, "--rate") {
		extra = append(extra, "--rate", "0")
	}
	if target.HelpMentions(bin, "--join-timeout") {
		extra = append(extra, "--join-timeout", "86400")
	}
	return extra
}

// externalServer describes a server given by -url.
func externalServer(f *flags) (*target.Server, error) {
	u := f.url
	if !strings.HasPrefix(u, "ws://") {
		return nil, fmt.Errorf("-url must be a ws:// URL, got %q", u)
	}
	host := strings.TrimPrefix(u, "ws://")
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	} else {
		u += "/"
	}
	h, _, err := splitHostPort(host)
	if err != nil {
		return nil, fmt.Errorf("-url: %v", err)
	}
	if !isLoopback(h) && !f.allowRemote {
		return nil, fmt.Errorf("-url %s is not on a loopback address; pass -allow-remote to load a server elsewhere", f.url)
	}
	return &target.Server{Name: "external", External: true, URL: u, PID: f.pid}, nil
}

func hostOf(wsURL string) string {
	host := strings.TrimPrefix(wsURL, "ws://")
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	h, _, _ := splitHostPort(host)
	return h
}

// checkConformance runs the protocol conformance suite (the "smoke test" of
// the results) against a fresh instance.
func checkConformance(ctx context.Context, k *target.Server, tmp string) error {
	p, err := target.Start(ctx, k, 64, 16, tmp)
	if err != nil {
		return err
	}
	defer p.Stop()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return conformance.Run(sctx, p.URL)
}

func splitHostPort(hostport string) (string, string, error) {
	return net.SplitHostPort(hostport)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
