// Package cluster makes RedRTC servers nodes of one cluster through NATS:
// room membership in a JetStream key-value bucket, relays between nodes in
// batches, and what happens when a node or NATS is lost (docs/cluster.md).
package cluster
