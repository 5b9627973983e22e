package loop

import (
	"fmt"
	"strings"
)

// StaticFile is one file the server answers plain GET and HEAD requests for
// (Config.Static): the call page and the SDK of `redrtc --demo`.
type StaticFile struct {
	ContentType string
	Body        []byte
}

// validateStatic checks Config.Static's paths, which must look like the
// paths browsers request: they start with "/" and hold no query.
func validateStatic(files map[string]StaticFile) error {
	for path, f := range files {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?# ") {
			return fmt.Errorf("static file path %q must start with / and hold no query, fragment or space", path)
		}
		if f.ContentType == "" {
			return fmt.Errorf("static file %q has no content type", path)
		}
	}
	return nil
}

// serveStatic answers a GET or HEAD request for a path in Config.Static, on
// the event loop like every other HTTP reply, and reports whether it did.
// The response closes the connection, as every non-upgrade response does.
func (s *Server) serveStatic(c *conn, head bool, method, path []byte) bool {
	if len(s.cfg.Static) == 0 || (!head && string(method) != "GET") {
		return false
	}
	f, ok := s.cfg.Static[string(path)]
	if !ok {
		return false
	}
	// The demo's files change with the binary, so browsers revalidate
	// rather than run a stale SDK against a newer server. They are public
	// and the same for everyone, so any page may import the SDK from here
	// (module scripts from another origin need CORS).
	s.httpResponse(c, "200 OK", f.ContentType, "\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff"+
		"\r\nAccess-Control-Allow-Origin: *", f.Body, !head)
	return true
}
