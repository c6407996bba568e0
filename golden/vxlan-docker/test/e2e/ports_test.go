package e2e

import (
	"strings"
	"testing"

	"example.com/demo/internal/protocol"
)

// TestPortsWithdrawn publishes a port from a container that is not the
// network's last on its host, tears it down, and publishes the same port
// from another container, on another address: teardown withdrew the first one's port by the
// addresses of its record in etcd, since netavark sends a container of
// this plugin's networks no addresses.
func TestPortsWithdrawn(t *testing.T) {
	w, network := newCluster(t, 1)
	h := w.hosts[0]
	stays := h.newContainer(t, network)
	stays.setup(t)

	publish := func(c *container) {
		c.opts.PortMappings = []protocol.PortMapping{{HostPort: 8243, ContainerPort: 80, Range: 1, Protocol: "tcp"}}
	}
	first := h.newContainer(t, network)
	publish(first)
	first.setup(t)
	second := h.newContainer(t, network)
	publish(second)
	if res, _ := h.netavark("setup", second); res.code == 0 || !strings.Contains(res.stdout, "8243") {
		t.Fatalf("a second container publishing port 8243 while the first does: %s, want it refused", res)
	}
	first.teardown(t)
	// The first one's address goes to another container, so that the
	// second gets a new one: a port left behind would point elsewhere.
	filler := h.newContainer(t, network)
	filler.setup(t)
	if filler.ip4 != first.ip4 {
		t.Fatalf("%s did not take the address of %s", filler, first)
	}
	second.setup(t)
	for _, c := range []*container{second, filler, stays} {
		c.teardown(t)
	}
	h.checkClean(t)
	w.checkNoEndpoints(t)
}
