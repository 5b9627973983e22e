package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/redrtc/redrtc/internal/conformance"
)

// TestConformanceOnANode runs the protocol conformance suite, the one every
// server the bench measures must pass, against a node of a cluster of two,
// a few times over: every room it makes is decided in the bucket, and a
// node must answer as a lone server does.
func TestConformanceOnANode(t *testing.T) {
	nats := startNATS(t)
	nodes := startCluster(t, nats, 2, nodeOptions{})
	runs := 5
	if testing.Short() {
		runs = 1
	}
	for range runs {
		for _, nd := range nodes {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := conformance.Run(ctx, nd.URL)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}
