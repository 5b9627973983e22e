package loop

import (
	"bytes"
	"encoding/base64"
	"runtime/metrics"
	"strconv"
	"strings"

	"github.com/gobwas/ws"

	"github.com/redrtc/redrtc/proto"
)

// Subprotocol is selected when a client offers it; clients offering none are
// accepted too.
const Subprotocol = "webrtc-signaling"

// statusTryAgainLater is close code 1013, which gobwas/ws does not name.
const statusTryAgainLater ws.StatusCode = 1013

// handshakeIO is the io.ReadWriter ws.Upgrader works on: it reads exactly the
// request's header bytes and collects the response.
type handshakeIO struct {
	r   sliceReader
	out *[]byte
}

func (h *handshakeIO) Read(p []byte) (int, error) { return h.r.Read(p) }

func (h *handshakeIO) Write(p []byte) (int, error) {
	*h.out = append(*h.out, p...)
	return len(p), nil
}

// newUpgrader returns the upgrader shared by every loop; its callbacks keep
// no state, so it is safe for concurrent use.
func newUpgrader() ws.Upgrader {
	return ws.Upgrader{
		ReadBufferSize: MaxHeaderBytes,
		ProtocolCustom: selectSubprotocol,
	}
}

// selectSubprotocol picks Subprotocol from a Sec-WebSocket-Protocol value
// when it is offered, and nothing otherwise; it never refuses.
func selectSubprotocol(offered []byte) (string, bool) {
	for len(offered) > 0 {
		var p []byte
		p, offered, _ = bytes.Cut(offered, []byte(","))
		if string(bytes.TrimSpace(p)) == Subprotocol {
			return Subprotocol, true
		}
	}
	return "", true
}

// handshake handles the HTTP request at the start of buf and returns the
// bytes it consumed, or 0 while the request is still incomplete. gnet may hand
// over half a request, or a request followed by the first frames: only the
// request's own bytes are consumed, and the rest is left for the frame parser.
// The request head is read once, by parseRequest, when its blank line has
// arrived.
func (s *Server) handshake(c *conn, buf []byte) int {
	// No response to HEAD has content (RFC 9110, 9.3.2), whatever its status;
	// the method is the request line's first word, known before its end.
	head := bytes.HasPrefix(buf, []byte("HEAD "))
	n := c.requestHeadLen(buf)
	if n == 0 {
		if len(buf) > MaxHeaderBytes {
			s.httpReply(c, head, "431 Request Header Fields Too Large", "request headers too large\n")
			return len(buf)
		}
		return 0
	}
	req := buf[:n]
	r := parseRequest(req)
	if !r.lineOK {
		s.httpReply(c, head, "400 Bad Request", "malformed request\n")
		return len(buf)
	}
	if !present(r.upgrade) {
		if (head || string(r.method) == "GET") && string(r.path()) == "/healthz" {
			s.healthz(c, head)
		} else if !s.serveStatic(c, head, r.method, r.path()) {
			s.httpReply(c, head, "426 Upgrade Required", "this is a WebSocket endpoint\n")
		}
		return len(buf)
	}
	if string(r.method) != "GET" {
		// The opening handshake is a GET (RFC 6455, 4.1). Answered here, not
		// by ws.Upgrader, so that a 405 names the method allowed (RFC 9110,
		// 15.5.6) and a HEAD gets no body; every check below meets only GETs.
		s.httpReply(c, head, "405 Method Not Allowed", "a WebSocket upgrade must be a GET request\n")
		return len(buf)
	}

	if key := bytes.TrimSpace(r.key); len(key) > 0 && !validKey(key) {
		s.httpReply(c, false, "400 Bad Request", "Sec-WebSocket-Key must be 16 bytes in base64\n")
		return len(buf)
	}
	if origin := bytes.TrimSpace(r.origin); len(origin) > 0 && !s.originAllowed(origin) {
		s.httpReply(c, false, "403 Forbidden", "origin not allowed\n")
		return len(buf)
	}
	if !s.upgradeAuthorized(c, &r) {
		return len(buf)
	}

	ls := c.ls
	var fast bool
	if ls.httpOut, fast = fastUpgrade(ls.httpOut[:0], &r); !fast {
		// hio lives in ls because Upgrade's io.ReadWriter would make a local
		// escape.
		ls.hio = handshakeIO{r: sliceReader{b: req}, out: &ls.httpOut}
		if _, err := s.upgrader.Upgrade(&ls.hio); err != nil {
			s.log.Debug().Err(err).Msg("handshake rejected")
			c.refused(refusedBadRequest)
			c.refuse(ls.httpOut)
			return len(buf)
		}
	}
	c.Send(ls.httpOut)
	c.upgraded()
	s.admit(c)
	return n
}

// admit gives an upgraded connection its client id, or turns it away with
// server-full and close code 1013 when the server is at --clients.
func (s *Server) admit(c *conn) {
	id, err := proto.NewClientID()
	if err == nil {
		c.client.ID = id
		c.client.Sender = c
		err = s.clients.Add(&c.client)
	}
	if err != nil {
		s.log.Debug().Err(err).Msg("client refused")
		c.refused(refusedServerFull)
		s.refusedServerFull()
		c.sendError(proto.Problem{Code: proto.CodeServerFull, Message: "the server is full; try again later"})
		c.close(statusTryAgainLater, "server full")
		return
	}
	c.roomlessSince = s.uptimeSeconds()
	c.logOpened()
	c.sendClientID(id)
}

// healthz answers GET /healthz with the current counts, and HEAD /healthz
// (the health check some load balancers send) with the same head alone.
func (s *Server) healthz(c *conn, head bool) {
	body := c.ls.enc[:0]
	body = append(body, `{"status":"ok","clients":`...)
	body = strconv.AppendInt(body, int64(s.clients.Len()), 10)
	body = append(body, `,"rooms":`...)
	body = strconv.AppendInt(body, int64(s.rooms.Len()), 10)
	body = append(body, `,"heapBytes":`...)
	body = strconv.AppendUint(body, heapBytes(), 10)
	body = append(body, "}\n"...)
	c.ls.enc = body
	s.httpResponse(c, "200 OK", "application/json", "", body, !head)
}

// heapBytes reads the bytes of live and not yet swept heap objects, without
// stopping the world as runtime.ReadMemStats would.
func heapBytes() uint64 {
	sample := [1]metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample[:])
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}

// httpReply answers a request that is not upgraded with a plain-text body,
// or its head alone when the request is a HEAD, and closes.
func (s *Server) httpReply(c *conn, head bool, status, body string) {
	s.httpResponse(c, status, textPlain, "", []byte(body), !head)
}

const textPlain = "text/plain; charset=utf-8"

// httpResponse sends a response with body, or only its head when sendBody
// is false (a HEAD request), and closes. It adds the header each status
// requires (RFC 9110: Upgrade for 426, 15.5.22; Allow for 405, 15.5.6;
// WWW-Authenticate for 401, 15.5.2, with RFC 6750's Bearer challenge), then
// extra, header lines each starting with CRLF.
func (s *Server) httpResponse(c *conn, status, contentType, extra string, body []byte, sendBody bool) {
	c.refusedStatus(status)
	out := c.ls.httpOut[:0]
	out = append(out, "HTTP/1.1 "...)
	out = append(out, status...)
	out = append(out, "\r\nContent-Type: "...)
	out = append(out, contentType...)
	out = append(out, "\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	switch status[:3] {
	case "426":
		out = append(out, "\r\nUpgrade: websocket"...)
	case "405":
		out = append(out, "\r\nAllow: GET"...)
	case "401":
		out = append(out, "\r\nWWW-Authenticate: Bearer error=\"invalid_token\""...)
	}
	out = append(out, extra...)
	out = append(out, "\r\nConnection: close\r\n\r\n"...)
	if sendBody {
		out = append(out, body...)
	}
	c.ls.httpOut = out
	c.refuse(out)
}

// validKey reports whether a Sec-WebSocket-Key is 16 bytes in base64, as
// RFC 6455 requires (gobwas/ws checks only its length).
func validKey(key []byte) bool {
	if len(key) != 24 { // Decode panics on a destination shorter than DecodedLen
		return false
	}
	var raw [18]byte
	n, err := base64.StdEncoding.Decode(raw[:], key)
	return err == nil && n == 16
}

// originAllowed applies --allowed-origins to a browser's Origin header.
func (s *Server) originAllowed(origin []byte) bool {
	if len(s.cfg.AllowedOrigins) == 0 {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, string(origin)) {
			return true
		}
	}
	return false
}
