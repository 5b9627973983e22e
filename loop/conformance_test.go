package loop_test

import (
	"context"
	"testing"
	"time"

	"github.com/redrtc/redrtc/internal/conformance"
	"github.com/redrtc/redrtc/loop"
)

// TestConformance runs the protocol conformance suite, the one every server
// the benchmark measures must pass, against an in-process server through
// the exported API only, as any embedding program would start it.
func TestConformance(t *testing.T) {
	srv, err := loop.Start(loop.Config{Interface: "127.0.0.1"})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conformance.Run(ctx, "ws://"+srv.Addr().String()+"/"); err != nil {
		t.Fatal(err)
	}
}
