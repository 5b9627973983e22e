package loop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/redrtc/redrtc/auth"
	"github.com/redrtc/redrtc/proto"
)

// BenchmarkJoinLeave measures a join-room and a leave-room on the server's
// loop, as the churn scenario does once per session: with tokens off, with
// an HS256 token in join-room, with an ES256 one, and with iceServers and a
// TURN credential minted per join. The difference between the runs is what
// access tokens and TURN credentials cost each session (docs/security.md).
func BenchmarkJoinLeave(b *testing.B) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	claims := jwt.MapClaims{"room": "*", "exp": time.Now().Add(time.Hour).Unix()}
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(testSecret)
	es, _ := jwt.NewWithClaims(jwt.SigningMethodES256, claims).SignedString(ecKey)
	ice, err := auth.NewICE(auth.TURNConfig{Secret: []byte("s"), TURNURIs: []string{"turn:127.0.0.1:3478?transport=udp"}, STUNURIs: []string{"stun:127.0.0.1:3478"}})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		cfg   auth.Config
		token string
		ice   *auth.ICE
	}{
		{"tokens-off", auth.Config{}, "", nil},
		{"HS256", auth.Config{Secret: testSecret}, hs, nil},
		{"ES256", auth.Config{PublicKey: &ecKey.PublicKey}, es, nil},
		{"iceServers", auth.Config{}, "", ice},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := newDetached(b)
			if bc.token != "" {
				d.srv.cfg.Auth = verifier(b, bc.cfg)
			}
			d.srv.cfg.ICE = bc.ice
			c := d.conn(b)
			m := proto.Message{Event: proto.EventJoinRoom, RoomID: []byte("bench")}
			if bc.token != "" {
				m.Token = []byte(bc.token)
			}
			b.ReportAllocs()
			for b.Loop() {
				c.join(&m)
				if !c.inRoom() {
					b.Fatalf("not joined: %q", d.takeOutput(c))
				}
				c.leave()
				d.recycleOutput(c)
			}
		})
	}
}
