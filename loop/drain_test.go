package loop

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/gobwas/ws"
)

// TestAClientCutOffWhileSendingGetsTheEndOfTheStream: a client the server
// closes while it is still sending gets the server's last word and then a
// clean end of the stream. Closing a socket with unread input makes the
// kernel answer with a reset instead, and a client that gets a reset may
// drop what it had not read yet, the close frame or the HTTP error included.
func TestAClientCutOffWhileSendingGetsTheEndOfTheStream(t *testing.T) {
	var tooBig bytes.Buffer
	if err := ws.WriteHeader(&tooBig, ws.Header{Fin: true, OpCode: ws.OpText, Length: 8 << 20, Masked: true, Mask: [4]byte{1, 2, 3, 4}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		upgraded bool
		start    []byte // sent with a megabyte more, which the server never uses
		lastWord func(r *rawConn)
	}{
		{"a frame over the message limit", true, tooBig.Bytes(), func(r *rawConn) { r.expectClose(ws.StatusMessageTooBig) }},
		{"request headers over the limit", false, []byte("GET / HTTP/1.1\r\nHost: x\r\nX-Junk: "), func(r *rawConn) {
			resp := r.response()
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				r.t.Fatalf("status %d, want 431", resp.StatusCode)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				r.t.Fatalf("reading the body: %v", err)
			}
			if _, err := io.Copy(io.Discard, r.br); err != nil {
				r.t.Fatalf("after the response: %v, want the end of the stream", err)
			}
		}},
	}
	srv := startServer(t, Config{})
	bystander := joinBystander(t, srv)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, srv)
			if tc.upgraded {
				r.upgrade()
			}
			sent := make(chan struct{})
			go func() {
				defer close(sent)
				// Errors are not the test's business here: only what the
				// client reads back is.
				_, _ = r.nc.Write(append(tc.start, bytes.Repeat([]byte("j"), 1<<20)...))
			}()
			tc.lastWord(r)
			<-sent
			bystander.StillServed()
		})
	}
}
