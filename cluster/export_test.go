package cluster

// Kill ends the node as SIGKILL would, as far as the others can tell: its
// NATS connection drops with nothing more written, and no goodbye.
func (n *Node) Kill() {
	n.cancel()
	n.nc.Close()
	n.wg.Wait()
}
