package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"example.com/demo/internal/config"
	"example.com/demo/internal/nstest"
	"example.com/demo/internal/protocol"
)

// TestErrors checks what the user reads when a call cannot work, and that
// a failed call leaves nothing on the host and nothing in etcd: etcd out of
// the agent's reach, a host without its agent, a VTEP that is not the host's, and a
// network whose subnets overlap another's.
func TestErrors(t *testing.T) {
	w := newWorld(t, 2)
	h1, h2 := w.hosts[0], w.hosts[1] // h2 runs no agent
	h1.startAgent(t, defaultTTL)
	n := w.createNetwork(t, subnetV4, subnetV6)

	// failedSetup runs netavark setup of a new container on h, with env,
	// and returns the error it reports: the plugin's, in netavark's words.
	failedSetup := func(t *testing.T, h *host, env ...string) string {
		t.Helper()
		c := h.newContainer(t, n)
		res, err := h.netavark("setup", c, env...)
		if err != nil {
			t.Fatal(err)
		}
		return failure(t, res)
	}
	// nothingLeft checks h, and etcd: no network but n, no endpoint.
	nothingLeft := func(t *testing.T, h *host) {
		t.Helper()
		h.checkClean(t)
		w.checkNoEndpoints(t)
		if keys := w.keys(t, "networks/"); len(keys) != 1 || !strings.HasSuffix(keys[0], "/"+n.Name) {
			t.Errorf("networks in etcd: %v, want %s alone", keys, n.Name)
		}
	}

	t.Run("etcd unreachable", func(t *testing.T) {
		// The agent of h1 has registered and serves; then h1 loses its
		// route to etcd, and the agent's calls find no answer.
		route := &netlink.Route{Dst: &net.IPNet{IP: net.ParseIP(underlayV4), Mask: net.CIDRMask(32, 32)}, Type: unix.RTN_BLACKHOLE}
		if err := h1.nl.RouteAdd(route); err != nil {
			t.Fatal(err)
		}
		routed := false
		defer func() {
			if !routed {
				h1.nl.RouteDel(route)
			}
		}()
		endpoint := w.endpoints[0]
		msg := failure(t, h1.create(t, nstest.UniqueName("net-"), nil, "10.44.0.0/24"))
		t.Log(msg)
		if !strings.Contains(msg, endpoint) || !strings.Contains(msg, "unreachable") {
			t.Errorf("create: %q does not say that etcd at %s is unreachable", msg, endpoint)
		}
		msg = failedSetup(t, h1)
		t.Log(msg)
		if !strings.Contains(msg, endpoint) || !strings.Contains(msg, "unreachable") {
			t.Errorf("setup: %q does not say that etcd at %s is unreachable", msg, endpoint)
		}
		if err := h1.nl.RouteDel(route); err != nil {
			t.Fatal(err)
		}
		routed = true
		nothingLeft(t, h1)
	})

	t.Run("no agent", func(t *testing.T) {
		msg := failedSetup(t, h2)
		t.Log(msg)
		want := "no agent at " + h2.socket() + ": start demo-agent on this host"
		if !strings.Contains(msg, want) {
			t.Errorf("setup on a host without its agent: %q, want it to say %q", msg, want)
		}
		nothingLeft(t, h2)
	})

	t.Run("VTEP not on this host", func(t *testing.T) {
		bad := "DEMO_CONFIG=" + h1.writeConfig(t, func(c *config.Config) { c.VTEP = netip.MustParseAddr("192.0.2.99") })
		msg := failedSetup(t, h1, bad)
		t.Log(msg)
		if !strings.Contains(msg, "VTEP 192.0.2.99 is not an address of this host") {
			t.Errorf("setup with another host's VTEP: %q does not say that it is not this host's", msg)
		}
		nothingLeft(t, h1)
	})

	t.Run("overlapping subnet", func(t *testing.T) {
		for _, tt := range []struct{ subnet, other string }{
			{"10.42.0.128/25", subnetV4},
			{"fd42::/48", subnetV6},
		} {
			msg := failure(t, h1.create(t, "other", nil, "10.45.0.0/24", tt.subnet))
			t.Log(msg)
			want := fmt.Sprintf("its subnet %s overlaps subnet %s of network %s", tt.subnet, tt.other, n.Name)
			if !strings.Contains(msg, want) {
				t.Errorf("create with subnet %s: %q, want it to say %q", tt.subnet, msg, want)
			}
		}
		nothingLeft(t, h1)
	})
}

// failure returns the error message of a failed call of the plugin or of
// netavark ({"error": "..."} on stdout), and fails the test if the call
// did not fail so.
func failure(t *testing.T, res result) string {
	t.Helper()
	var e protocol.ErrorResponse
	if res.code == 0 || json.Unmarshal([]byte(res.stdout), &e) != nil || e.Error == "" {
		t.Fatalf("want a failure with an error message, got %s", res)
	}
	return e.Error
}

// closedPort returns ip:port where nothing listens.
func closedPort(t *testing.T, ip string) string {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
