package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sys/unix"

	"example.com/demo/internal/cluster"
	"example.com/demo/internal/nstest"
)

// TestCrossHost sets up a container on each of three hosts: each gets an
// eth0 with the MAC and addresses that setup reported, and every container
// reaches every other over IPv4 and IPv6, seen by the other with its own
// address. Tearing them all down leaves nothing: no link, address, route
// or nftables object on any host, no lock file, and no endpoint or address
// in etcd.
func TestCrossHost(t *testing.T) {
	w, n := newCluster(t, 3)
	var cs []*container
	for _, h := range w.hosts {
		c := h.newContainer(t, n)
		c.setup(t)
		checkInterface(t, c)
		cs = append(cs, c)
	}
	for _, from := range cs {
		for _, to := range cs {
			if from != to {
				reach(t, from, to)
			}
		}
	}
	if got := len(w.keys(t, "endpoints/")); got != len(cs) {
		t.Errorf("etcd has %d endpoints, want %d", got, len(cs))
	}
	for _, c := range cs {
		c.teardown(t)
	}
	for _, h := range w.hosts {
		h.checkClean(t)
	}
	w.checkNoEndpoints(t)
}

// checkInterface checks c's eth0: up, with the MAC and the addresses that
// setup reported, and their subnets' prefix lengths.
func checkInterface(t *testing.T, c *container) {
	t.Helper()
	h := nstest.Handle(t, c.ns)
	link, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatalf("%s: no eth0: %v", c, err)
	}
	if link.Attrs().Flags&net.FlagUp == 0 || link.Attrs().HardwareAddr.String() != c.mac.String() {
		t.Errorf("%s: eth0 has MAC %s, flags %v; setup reported %s", c, link.Attrs().HardwareAddr, link.Attrs().Flags, c.mac)
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var got []netip.Prefix
	for _, a := range addrs {
		ip, _ := netip.AddrFromSlice(a.IP)
		bits, _ := a.Mask.Size()
		got = append(got, netip.PrefixFrom(ip.Unmap(), bits))
	}
	for _, want := range []netip.Prefix{netip.PrefixFrom(c.ip4, 24), netip.PrefixFrom(c.ip6, 64)} {
		if !slices.Contains(got, want) {
			t.Errorf("%s: eth0 lacks %s: %v", c, want, got)
		}
	}
}

// TestConcurrentSetups sets up thirty containers at once, ten on each of
// three hosts, as netavark runs for podman: they get thirty distinct IPv4
// and thirty distinct IPv6 addresses, each is reached from a container of
// another host, and tearing them all down at once leaves nothing.
func TestConcurrentSetups(t *testing.T) {
	const perHost = 10
	w, n := newCluster(t, 3)
	var cs []*container
	for _, h := range w.hosts {
		for range perHost {
			cs = append(cs, h.newContainer(t, n))
		}
	}
	took := all(cs, func(c *container) error {
		res, err := c.host.netavark("setup", c)
		if err == nil {
			err = c.started(res)
		}
		return err
	}, t.Errorf)
	t.Logf("%d setups at once on %d hosts: %s", len(cs), len(w.hosts), took.Round(time.Millisecond))
	if t.Failed() {
		t.FailNow()
	}
	ips := map[netip.Addr]*container{}
	for _, c := range cs {
		for _, ip := range []netip.Addr{c.ip4, c.ip6} {
			if other, dup := ips[ip]; dup {
				t.Errorf("%s and %s have one address", c, other)
			}
			ips[ip] = c
		}
		nstest.Serve(t, c.ns, "tcp", serverPort)
	}
	if len(ips) != 2*len(cs) {
		t.Fatalf("%d distinct addresses for %d containers, want %d", len(ips), len(cs), 2*len(cs))
	}
	// Each container from the one of its rank on the next host: every
	// container is reached, and every host reaches every other.
	for i, to := range cs {
		reach(t, cs[(i+perHost)%len(cs)], to)
	}

	took = all(cs, func(c *container) error {
		res, err := c.host.netavark("teardown", c)
		if err == nil && res.code != 0 {
			return fmt.Errorf("netavark teardown: %s", res)
		}
		c.up = err != nil
		return err
	}, t.Errorf)
	t.Logf("%d teardowns at once: %s", len(cs), took.Round(time.Millisecond))
	for _, h := range w.hosts {
		h.checkClean(t)
	}
	w.checkNoEndpoints(t)
}

// all runs fn for every container at once, reports each error with
// errorf, and returns how long it took.
func all(cs []*container, fn func(*container) error, errorf func(string, ...any)) time.Duration {
	start := time.Now()
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(c)
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for i, err := range errs {
		if err != nil {
			errorf("%s: %v", cs[i].opts.ContainerName, err)
		}
	}
	return took
}

// TestConvergence measures how soon another host learns of a container.
// Host B's VXLAN device is polled every 5 ms while a container is set up
// on host A, and again while it is torn down, ten times, for the moment
// its forwarding entry appears there, and goes. Each is timed from the
// moment A's setup (teardown) returned, which B usually beats, since the
// plugin records the endpoint in etcd before it attaches the container,
// and from the moment the test's own watch of etcd saw the endpoint
// written (deleted). The test logs the medians and maxima, and fails if
// any is over a second.
func TestConvergence(t *testing.T) {
	const rounds = 10
	w, n := newCluster(t, 2)
	a, b := w.hosts[0], w.hosts[1]
	// Both hosts have the network's device before the measures.
	a.newContainer(t, n).setup(t)
	b.newContainer(t, n).setup(t)
	vx, err := b.nl.LinkByName("vxlan" + n.Options["vni"])
	if err != nil {
		t.Fatal(err)
	}
	changes := w.watchEndpoints(t)
	var setups, afterReturn []time.Duration
	afterEtcd := map[string][]time.Duration{}
	// measure runs call, a setup or teardown of c on A, and records when
	// B's device changed.
	measure := func(c *container, what string, call func(*testing.T) result) result {
		seen := pollFDB(b, vx.Attrs().Index, a.vtep4)
		res := call(t)
		returned := time.Now()
		var written time.Time
		select {
		case written = <-changes:
		case <-time.After(time.Second):
			t.Fatalf("the test's watch saw no change of the endpoints in etcd for %s", c)
		}
		at := <-seen
		if at.IsZero() {
			t.Fatalf("%s: no change of %s's entry on B's device within 3s", b.name, c)
		}
		afterReturn = append(afterReturn, max(0, at.Sub(returned)))
		afterEtcd[what] = append(afterEtcd[what], at.Sub(written))
		return res
	}
	for range rounds {
		c := a.newContainer(t, n)
		setups = append(setups, measure(c, "setup", c.setup).took)
		measure(c, "teardown", c.teardown)
	}
	t.Logf("setup on A (netavark and plugin): median %s, max %s", median(setups), slices.Max(setups).Round(time.Millisecond))
	t.Logf("A's setup or teardown returned -> B's device changed: median %s, max %s", median(afterReturn), slices.Max(afterReturn))
	for _, what := range []string{"setup", "teardown"} {
		d := afterEtcd[what]
		t.Logf("endpoint of a %s in etcd -> B's device changed: median %s, max %s (%v)", what, median(d), slices.Max(d), d)
		afterReturn = append(afterReturn, d...)
	}
	for _, d := range afterReturn {
		if d > time.Second {
			t.Errorf("convergence took %s, over a second", d)
		}
	}
}

// watchEndpoints watches the endpoints in etcd until the test ends, and
// sends the time it saw each change: the moment etcd told its watchers.
func (w *world) watchEndpoints(t *testing.T) <-chan time.Time {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	out := make(chan time.Time, 100)
	events := w.etcd.Watch(ctx, cluster.DefaultPrefix+"endpoints/", clientv3.WithPrefix())
	go func() {
		for resp := range events {
			now := time.Now()
			for range resp.Events {
				out <- now
			}
		}
	}()
	return out
}

// pollFDB polls the forwarding entries to vtep of h's device (link index
// vx) every 5 ms from now, and sends the time it first saw them differ
// from what they were at the start, or the zero time after 3 s.
func pollFDB(h *host, vx int, vtep netip.Addr) <-chan time.Time {
	read := func() (string, error) {
		list, err := neighList(h.nl, vx, unix.AF_BRIDGE)
		var macs []string
		for _, n := range list {
			if n.IP.Equal(vtep.AsSlice()) {
				macs = append(macs, n.HardwareAddr.String())
			}
		}
		slices.Sort(macs)
		return strings.Join(macs, " "), err
	}
	before, err := read()
	out := make(chan time.Time, 1)
	go func() {
		deadline := time.Now().Add(3 * time.Second)
		for err == nil && time.Now().Before(deadline) {
			var now string
			if now, err = read(); err == nil && now != before {
				out <- time.Now()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		out <- time.Time{}
	}()
	return out
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(10 * time.Microsecond)
}
