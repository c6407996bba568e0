package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAgentRestart stops host A's agent with SIGKILL and changes the
// network behind its back: an agent that starts again must make A's VXLAN
// device right from etcd (it reconciles on start). A container set up on
// host B while A's agent is down is on A's device within a few seconds of
// the restart, forwarding entry and neighbour entries, and A's container
// reaches it; a container of B torn down while A's agent is down has its
// entries removed from A's device after the restart.
func TestAgentRestart(t *testing.T) {
	w, n := newCluster(t, 2)
	a, b := w.hosts[0], w.hosts[1]
	v := vni(t, n)
	ca, cb1 := a.newContainer(t, n), b.newContainer(t, n)
	ca.setup(t)
	cb1.setup(t)
	reach(t, ca, cb1)

	a.killAgent(t)
	cb2 := b.newContainer(t, n)
	cb2.setup(t)
	// Nothing else programs A's device: B's setup does not touch it.
	time.Sleep(200 * time.Millisecond)
	if _, some := a.knows(t, v, cb2); some {
		t.Fatalf("%s has entries of %s, set up while its agent was down", a.name, cb2)
	}
	restarted := time.Now()
	a.startAgent(t, defaultTTL)
	if !waitFor(3*time.Second, func() bool { all, _ := a.knows(t, v, cb2); return all }) {
		fdb, neighs, _ := a.entries(t, v)
		t.Fatalf("3s after its agent restarted, %s lacks entries of %s: forwarding %v, neighbours %v", a.name, cb2, fdb, neighs)
	}
	t.Logf("%s's device caught up %s after its agent was started again", a.name, time.Since(restarted).Round(time.Millisecond))
	reach(t, ca, cb2)

	a.killAgent(t)
	cb1.teardown(t)
	if all, _ := a.knows(t, v, cb1); !all {
		t.Fatalf("%s lost the entries of %s while its agent was down", a.name, cb1)
	}
	a.startAgent(t, defaultTTL)
	if !waitFor(3*time.Second, func() bool { _, some := a.knows(t, v, cb1); return !some }) {
		fdb, neighs, _ := a.entries(t, v)
		t.Fatalf("3s after its agent restarted, %s still has entries of %s, torn down: forwarding %v, neighbours %v", a.name, cb1, fdb, neighs)
	}
	if all, _ := a.knows(t, v, cb2); !all {
		t.Errorf("%s lost the entries of %s", a.name, cb2)
	}
	reach(t, ca, cb2)
}

// TestHostLeaseExpiry crashes host C: its agent, with a lease of 2s, is
// killed with SIGKILL, and nothing tears its container down. Within the
// lease and 2 s, its container's endpoint and addresses are gone from
// etcd, and its entries from the VXLAN devices of hosts A and B. When
// host C comes back, with its agent, the container's teardown finds nothing
// of it left in etcd.
func TestHostLeaseExpiry(t *testing.T) {
	const ttl = 2 * time.Second
	w := newWorld(t, 3)
	a, b, c := w.hosts[0], w.hosts[1], w.hosts[2]
	a.startAgent(t, defaultTTL)
	b.startAgent(t, defaultTTL)
	c.startAgent(t, ttl)
	n := w.createNetwork(t, subnetV4, subnetV6)
	v := vni(t, n)
	ca, cb, cc := a.newContainer(t, n), b.newContainer(t, n), c.newContainer(t, n)
	for _, ctr := range []*container{ca, cb, cc} {
		ctr.setup(t)
	}
	for _, h := range []*host{a, b} {
		if !waitFor(time.Second, func() bool { all, _ := h.knows(t, v, cc); return all }) {
			t.Fatalf("%s lacks the entries of %s", h.name, cc)
		}
	}
	reach(t, ca, cc)

	c.killAgent(t)
	crashed := time.Now()
	gone := func() bool {
		for _, h := range []*host{a, b} {
			if _, some := h.knows(t, v, cc); some {
				return false
			}
		}
		for _, prefix := range []string{"endpoints/", "addresses/", "hosts/"} {
			if slices.ContainsFunc(w.keys(t, prefix), func(k string) bool {
				return strings.Contains(k, "/"+c.name+"/") || strings.HasSuffix(k, "/"+c.name) ||
					strings.HasSuffix(k, "/"+cc.ip4.String()) || strings.HasSuffix(k, "/"+cc.ip6.String())
			}) {
				return false
			}
		}
		return true
	}
	if !waitFor(ttl+2*time.Second, gone) {
		t.Fatalf("%s after %s crashed, its container %s is still known: etcd %v, %v",
			time.Since(crashed).Round(time.Millisecond), c.name, cc, w.keys(t, "endpoints/"), w.keys(t, "addresses/"))
	}
	t.Logf("%s's container gone from etcd and the other hosts %s after its agent died (lease %s)", c.name, time.Since(crashed).Round(time.Millisecond), ttl)
	reach(t, ca, cb)

	c.startAgent(t, ttl)
	cc.teardown(t)
	c.checkClean(t)
}
