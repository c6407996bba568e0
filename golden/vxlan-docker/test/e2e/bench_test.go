package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sys/unix"

	"example.com/demo/internal/agent"
	"example.com/demo/internal/cluster"
	"example.com/demo/internal/config"
	"example.com/demo/internal/nstest"
	"example.com/demo/internal/overlay"
	"example.com/demo/internal/protocol"
)

// Targets of the benchmarks.
const (
	// maxRatioCycle bounds the plugin's warm setup+teardown cycle against
	// a bridge's warm cycle (netavark's built-in bridge stands in for the
	// bridge template's) plus one etcd round trip, medians of one run.
	maxRatioCycle = 1.5
	// maxConvergence bounds the time from an endpoint's Attach on a host
	// until another host's VXLAN device has its forwarding entry, with
	// convergenceTargetAt endpoints in the cluster: every sample.
	maxConvergence      = time.Second
	convergenceTargetAt = 1000
	// maxReconcile bounds the time from the start of an agent until its
	// empty VXLAN device has the entries of reconcileEndpoints endpoints:
	// every round.
	maxReconcile       = 2 * time.Second
	reconcileEndpoints = 1000
)

// The cells of TestBenchConvergence: simulated hosts, and endpoints on them
// before the samples.
var (
	benchHosts     = []int{3, 10, 30}
	benchEndpoints = []int{10, 100, 1000}
)

// The bench networks' subnets: /16 for the thousands of endpoints of the
// simulated hosts; and those of the built-in bridge's network, beside the
// plugin's on one host.
const (
	benchSubnetV4  = "10.44.0.0/16"
	benchSubnetV6  = "fd44::/64"
	bridgeSubnetV4 = "10.43.0.0/24"
	bridgeSubnetV6 = "fd43::/64"
)

// simTTL is the lease of the simulated hosts, which no agent keeps alive:
// longer than any benchmark. They are revoked at the end.
const simTTL = 10 * time.Minute

// benchRounds returns BENCH_ROUNDS (default 30), or skips the test unless
// BENCH=1: the benchmarks run with make bench.
func benchRounds(t *testing.T) int {
	t.Helper()
	if os.Getenv("BENCH") != "1" {
		t.Skip("benchmark: run with make bench (BENCH=1)")
	}
	rounds := 30
	if s := os.Getenv("BENCH_ROUNDS"); s != "" {
		var err error
		if rounds, err = strconv.Atoi(s); err != nil || rounds < 1 {
			t.Fatalf("BENCH_ROUNDS=%q: want a positive number", s)
		}
	}
	return rounds
}

// enforce says whether a missed target fails the benchmark (BENCH_ENFORCE=1).
func enforce() bool { return os.Getenv("BENCH_ENFORCE") == "1" }

// TestBenchCycle measures, interleaved in rounds on host A of two, the
// median wall time of a warm setup+teardown cycle through netavark of: the
// plugin (one container of the network stays on A, one on B, so that the
// bridge and VXLAN device exist on both); netavark's built-in bridge in the
// same namespace (NETAVARK_FW=none, one other container attached), the
// stand-in for the bridge template's plugin; and one etcd round trip from
// A (a read of A's record by a client in A's namespace, as the plugin's
// first). Both networks are dual-stack. It reports the plugin's setup and
// teardown alone too, and the start of its executable alone (demo info,
// also interleaved: the plugin runs twice a cycle), and the ratio of its
// cycle to the bridge's plus the round trip, with target maxRatioCycle;
// BENCH_ENFORCE=1 fails the test when it is missed.
func TestBenchCycle(t *testing.T) {
	rounds := benchRounds(t)
	w, n := newCluster(t, 2)
	a, b := w.hosts[0], w.hosts[1]
	keepA, keepB := a.newContainer(t, n), b.newContainer(t, n)
	keepA.setup(t)
	keepB.setup(t)
	br := bridgeNetwork()
	// bridgeIPs are the addresses of the built-in bridge's containers:
	// 0 for the one that stays, then one per round.
	bridgeIPs := func(i int) []netip.Addr {
		return []netip.Addr{nthAddr(bridgeSubnetV4, 2+i), nthAddr(bridgeSubnetV6, 2+i)}
	}
	keepBridge := a.benchContainer(t, br, bridgeIPs(0)...)
	if res, err := a.netavark("setup", keepBridge); err != nil || res.code != 0 {
		t.Fatalf("setup of a container of the built-in bridge: %v %s", err, res)
	}
	keepBridge.up = true
	t.Cleanup(func() {
		if keepBridge.up {
			a.netavark("teardown", keepBridge)
		}
	})
	rtt := startRTT(t, a)

	// cycle sets c up on its host and tears it down, and returns how long
	// each took.
	cycle := func(c *container) (setup, teardown time.Duration) {
		res, err := c.host.netavark("setup", c)
		if err != nil || res.code != 0 {
			t.Fatalf("setup of %s on %s: %v %s", c.opts.ContainerName, c.network, err, res)
		}
		setup = res.took
		if res, err = c.host.netavark("teardown", c); err != nil || res.code != 0 {
			t.Fatalf("teardown of %s on %s: %v %s", c.opts.ContainerName, c.network, err, res)
		}
		nstest.DeleteNetns(t, c.ns)
		return setup, res.took
	}
	// start times the plugin's start alone: demo info, which does nothing.
	start := func() time.Duration {
		res, err := run(exec.Command(w.nsenter, "--net="+a.ns, pluginBin, "info"), nil)
		if err != nil || res.code != 0 {
			t.Fatalf("demo info: %v %s", err, res)
		}
		return res.took
	}
	var vxSetup, vxTeardown, vxCycle, brCycle, rtts, starts []time.Duration
	for r := range rounds {
		// A rotating order, so that no measure always runs first.
		for i := range 4 {
			switch (i + r) % 4 {
			case 0:
				s, td := cycle(a.benchContainer(t, n))
				vxSetup, vxTeardown, vxCycle = append(vxSetup, s), append(vxTeardown, td), append(vxCycle, s+td)
			case 1:
				s, td := cycle(a.benchContainer(t, br, bridgeIPs(1+r%250)...))
				brCycle = append(brCycle, s+td)
			case 2:
				rtts = append(rtts, rtt())
			case 3:
				starts = append(starts, start())
			}
		}
	}

	got := ratio(median(vxCycle), median(brCycle)+median(rtts))
	var out strings.Builder
	fmt.Fprintf(&out, "warm setup+teardown through netavark on host %s, %d rounds, interleaved\n", a.name, rounds)
	tw := tabwriter.NewWriter(&out, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\tmedian\tmin\tmax\t\n")
	for _, row := range []struct {
		what string
		ds   []time.Duration
	}{
		{driver + " setup", vxSetup},
		{driver + " teardown", vxTeardown},
		{driver + " setup+teardown", vxCycle},
		{"built-in bridge setup+teardown", brCycle},
		{"etcd round trip from " + a.name, rtts},
		{driver + " info (the plugin's start alone)", starts},
	} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", row.what, ms(median(row.ds)), ms(slices.Min(row.ds)), ms(slices.Max(row.ds)))
	}
	tw.Flush()
	fmt.Fprintf(&out, "%s / (built-in bridge + etcd round trip): %.2fx, target %.2fx: %s", driver, got, maxRatioCycle, verdict(got <= maxRatioCycle))
	t.Logf("\n%s", out.String())
	if enforce() && got > maxRatioCycle {
		t.Errorf("warm cycle %.2fx the built-in bridge's plus an etcd round trip, target %.2fx", got, maxRatioCycle)
	}

	for _, c := range []*container{keepA, keepB, keepBridge} {
		c.teardown(t)
	}
	for _, h := range w.hosts {
		h.checkClean(t)
	}
	w.checkNoEndpoints(t)
}

// bridgeNetwork is a dual-stack network of netavark's built-in bridge, as
// podman passes it, with IPAM host-local: the containers' addresses are
// static.
func bridgeNetwork() protocol.Network {
	n := protocol.Network{
		Name: nstest.UniqueName("bridge-"), ID: randomHex(32), Driver: "bridge",
		NetworkInterface: nstest.UniqueName("nvbr"), IPv6Enabled: true,
		IPAMOptions: map[string]string{"driver": "host-local"},
	}
	for _, s := range []string{bridgeSubnetV4, bridgeSubnetV6} {
		p := netip.MustParsePrefix(s)
		n.Subnets = append(n.Subnets, protocol.Subnet{Subnet: protocol.IPNet{Prefix: p}, Gateway: p.Addr().Next()})
	}
	return n
}

// benchContainer is newContainer for the benchmarks: with static addresses
// ips (for netavark's own drivers), and not torn down at cleanup, so that
// the rounds do not pile up cleanups; its caller tears it down.
func (h *host) benchContainer(t *testing.T, n protocol.Network, ips ...netip.Addr) *container {
	t.Helper()
	c := &container{host: h, ns: nstest.NewNetns(t), network: n.Name}
	c.opts = protocol.NetavarkOptions{
		ContainerID:   randomHex(32),
		ContainerName: nstest.UniqueName("ctr-"),
		Networks:      map[string]protocol.PerNetworkOptions{n.Name: {InterfaceName: "eth0", StaticIPs: ips}},
		NetworkInfo:   map[string]protocol.Network{n.Name: n},
	}
	return c
}

// startRTT starts testdata/etcdrtt in h's namespace, and returns a function
// that has it time one read of h's record in etcd. It stops at cleanup.
func startRTT(t *testing.T, h *host) func() time.Duration {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "etcdrtt")
	if err := nstest.Build(bin, "./testdata/etcdrtt"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(h.w.nsenter, "--net="+h.ns, bin, h.config)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("etcdrtt did not start: %q %v", lines.Text(), lines.Err())
	}
	return func() time.Duration {
		if _, err := io.WriteString(stdin, "\n"); err != nil {
			t.Fatalf("etcdrtt: %v", err)
		}
		if !lines.Scan() {
			t.Fatalf("etcdrtt stopped: %v", lines.Err())
		}
		ns, err := strconv.ParseInt(lines.Text(), 10, 64)
		if err != nil {
			t.Fatalf("etcdrtt printed %q", lines.Text())
		}
		return time.Duration(ns)
	}
}

// TestBenchConvergence measures how soon host B's agent programs B's VXLAN
// device with an endpoint of another host, in clusters of 3, 10 and 30
// hosts with 10, 100 and 1000 endpoints. B is a real host, with its agent
// and a container of the network; the other hosts are simulated: they are
// registered, and their endpoints attached, in etcd directly, with their
// VTEPs and made-up MACs and addresses. In each cell, after B's device has
// the endpoints of the cell, samples endpoints are attached one at a time
// on simulated host A, each timed until a notification of B's namespace
// says that B's device has its forwarding entry, and all its entries (with
// its two neighbour entries): from the etcd write, when etcd announced it
// to its watchers (the test's own watch saw it); from the return of
// Attach, which B may beat, since etcd answers the writer and tells its
// watchers at once (such samples count as 0); and from the call of Attach,
// an upper bound that includes Attach's own read and write. The target is
// every sample's forwarding entry, from the call of Attach, under
// maxConvergence at convergenceTargetAt endpoints. It also reports how long
// B takes to remove the endpoints when the simulated hosts' leases are
// revoked.
func TestBenchConvergence(t *testing.T) {
	samples := min(benchRounds(t), 15)
	w := newWorld(t, 1)
	b := w.hosts[0]
	b.startAgent(t, defaultTTL)
	n := w.createNetwork(t, benchSubnetV4, benchSubnetV6)
	v := vni(t, n)
	cb := b.newContainer(t, n)
	cb.setup(t)
	sim := newSimCluster(t, b, n.Name)
	vx := vxlanIndex(t, b, v)

	type cell struct {
		hosts, endpoints int
		// From the etcd write: the forwarding entry, all entries; from
		// the return and the call of Attach: the forwarding entry.
		fdb, all, fromReturn, fromCall []time.Duration
		// early counts the samples that B had before Attach returned.
		early int
	}
	var cells []cell
	var drains []string
	for _, hosts := range benchHosts {
		sim.register(t, hosts)
		for _, endpoints := range benchEndpoints {
			for sim.count() < endpoints {
				sim.attach(t, sim.count()%hosts)
			}
			sim.waitDevice(t, b, v)
			entries := watchNeighs(t, b, vx)
			writes := watchWrites(t, w)
			c := cell{hosts: hosts, endpoints: endpoints}
			for range samples {
				called := time.Now()
				ep := sim.attach(t, 0)
				returned := time.Now()
				written := writes.wait(t, ep, 5*time.Second)
				fdb, all := entries.waitEndpoint(t, ep, 5*time.Second)
				if fdb.Before(returned) {
					c.early++
				}
				c.fdb = append(c.fdb, max(0, fdb.Sub(written)))
				c.all = append(c.all, max(0, all.Sub(written)))
				c.fromReturn = append(c.fromReturn, max(0, fdb.Sub(returned)))
				c.fromCall = append(c.fromCall, fdb.Sub(called))
			}
			entries.stop()
			writes.stop()
			cells = append(cells, c)
		}
		// The simulated hosts go, as if their leases expired: B's agent
		// removes their endpoints one event at a time.
		gone := sim.count()
		revoked := time.Now()
		sim.revoke(t)
		sim.waitDevice(t, b, v)
		drains = append(drains, fmt.Sprintf("%d hosts, %d endpoints: %s", hosts, gone, ms(time.Since(revoked))))
	}

	var out strings.Builder
	fmt.Fprintf(&out, "convergence: endpoint attached in etcd on simulated host A -> its entries on host %s's device, median / max of %d samples per cell\n", b.name, samples)
	fmt.Fprint(&out, "(FDB: its forwarding entry; all: with its 2 neighbour entries; B first: samples that B had before Attach returned, counted as 0 from the return)\n")
	tw := tabwriter.NewWriter(&out, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "hosts\tendpoints\tetcd write -> FDB\tetcd write -> all\tAttach return -> FDB\tB first\tAttach call -> FDB\t\n")
	var worst time.Duration
	for _, c := range cells {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%d/%d\t%s\t\n", c.hosts, c.endpoints,
			medianMax(c.fdb), medianMax(c.all), medianMax(c.fromReturn), c.early, len(c.fdb), medianMax(c.fromCall))
		if c.endpoints == convergenceTargetAt {
			worst = max(worst, slices.Max(c.fromCall))
		}
	}
	tw.Flush()
	fmt.Fprintf(&out, "leases of the simulated hosts revoked -> their entries gone from %s's device (polled every 10 ms): %s\n", b.name, strings.Join(drains, "; "))
	fmt.Fprintf(&out, "slowest forwarding entry at %d endpoints, from the call of Attach: %s, target under %s: %s", convergenceTargetAt, ms(worst), maxConvergence, verdict(worst < maxConvergence))
	t.Logf("\n%s", out.String())
	if enforce() && worst >= maxConvergence {
		t.Errorf("convergence at %d endpoints took up to %s, target under %s", convergenceTargetAt, worst, maxConvergence)
	}

	cb.teardown(t)
	b.checkClean(t)
	w.checkNoEndpoints(t)
}

// writeWatch stamps the writes of endpoints that etcd announces to its
// watchers, by key, as the test's watch receives them.
type writeWatch struct {
	writes chan stampedKey
	stop   context.CancelFunc
}

type stampedKey struct {
	at  time.Time
	key string
}

// watchWrites watches the endpoints in etcd from now until stop or the end
// of the test.
func watchWrites(t *testing.T, w *world) *writeWatch {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ww := &writeWatch{writes: make(chan stampedKey, 1<<12), stop: cancel}
	events := w.etcd.Watch(ctx, cluster.DefaultPrefix+"endpoints/", clientv3.WithPrefix())
	go func() {
		defer close(ww.writes)
		for resp := range events {
			now := time.Now()
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypePut {
					ww.writes <- stampedKey{now, string(ev.Kv.Key)}
				}
			}
		}
	}()
	return ww
}

// wait returns when the test's watch saw ep written.
func (ww *writeWatch) wait(t *testing.T, ep cluster.Endpoint, timeout time.Duration) time.Time {
	t.Helper()
	key := cluster.DefaultPrefix + "endpoints/" + ep.Network + "/" + ep.Host + "/" + ep.Key
	deadline := time.After(timeout)
	for {
		select {
		case w, ok := <-ww.writes:
			if !ok {
				t.Fatal("the test's watch of etcd ended")
			}
			if w.key == key {
				return w.at
			}
		case <-deadline:
			t.Fatalf("the test's watch of etcd did not see %s written", key)
		}
	}
}

// TestBenchReconcile measures host B's agent's full reconcile of
// reconcileEndpoints endpoints of 10 simulated hosts (as in
// TestBenchConvergence), from a VXLAN device that has none of them, in
// rounds: B's agent is killed, B's device emptied of the other hosts'
// entries, and the agent started again; the round is timed from the start
// of the agent's process until a notification of B's namespace says that
// B's device has every endpoint's forwarding entry, and all their
// entries (two neighbour entries each). The target is every round under
// maxReconcile. Each round also times agent.Reconcile in the test's
// process, in B's namespace, on an emptied device, with the agent down.
func TestBenchReconcile(t *testing.T) {
	rounds := min(benchRounds(t), 5)
	w := newWorld(t, 1)
	b := w.hosts[0]
	b.startAgent(t, defaultTTL)
	n := w.createNetwork(t, benchSubnetV4, benchSubnetV6)
	v := vni(t, n)
	cb := b.newContainer(t, n)
	cb.setup(t)
	sim := newSimCluster(t, b, n.Name)
	sim.register(t, 10)
	for sim.count() < reconcileEndpoints {
		sim.attach(t, sim.count()%10)
	}
	sim.waitDevice(t, b, v)
	vx := vxlanIndex(t, b, v)
	// flush empties B's device of the other hosts' entries.
	flush := func() {
		nstest.Do(t, b.ns, func() {
			if err := overlay.Sync(v, nil); err != nil {
				t.Fatal(err)
			}
		})
		if fdb, neighs, _ := b.entries(t, v); len(fdb)+len(neighs) > 0 {
			t.Fatalf("%s's device still has %d forwarding and %d neighbour entries", b.name, len(fdb), len(neighs))
		}
	}
	a := &agent.Agent{Cluster: sim.c, Host: b.name, VTEP: b.vtep4, LockDir: b.lockDir, Log: slog.New(slog.DiscardHandler)}

	var first, fdb, all, inProcess []time.Duration
	for range rounds {
		b.killAgent(t)
		flush()
		var err error
		start := time.Now()
		nstest.Do(t, b.ns, func() { _, err = a.Reconcile(context.Background()) })
		inProcess = append(inProcess, time.Since(start))
		if err != nil {
			t.Fatalf("Reconcile: %v", err)
		}
		sim.checkDevice(t, b, v)

		flush()
		watch := watchNeighs(t, b, vx)
		start = time.Now()
		b.startAgent(t, defaultTTL)
		f, lastFDB, lastAll := watch.waitAll(t, sim.endpoints(), 5*time.Second)
		watch.stop()
		first, fdb, all = append(first, f.Sub(start)), append(fdb, lastFDB.Sub(start)), append(all, lastAll.Sub(start))
		sim.checkDevice(t, b, v)
	}

	var out strings.Builder
	fmt.Fprintf(&out, "full reconcile of %d endpoints of 10 other hosts on %s's emptied device, %d rounds\n", reconcileEndpoints, b.name, rounds)
	tw := tabwriter.NewWriter(&out, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\tmedian\tmax\t\n")
	for _, row := range []struct {
		what string
		ds   []time.Duration
	}{
		{"agent process started -> first entry", first},
		{fmt.Sprintf("agent process started -> all %d forwarding entries", reconcileEndpoints), fdb},
		{fmt.Sprintf("agent process started -> all entries (and %d neighbour entries)", 2*reconcileEndpoints), all},
		{"agent.Reconcile in the test's process", inProcess},
	} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", row.what, ms(median(row.ds)), ms(slices.Max(row.ds)))
	}
	tw.Flush()
	worst := slices.Max(all)
	fmt.Fprintf(&out, "slowest agent reconcile: %s, target under %s: %s", ms(worst), maxReconcile, verdict(worst < maxReconcile))
	t.Logf("\n%s", out.String())
	if enforce() && worst >= maxReconcile {
		t.Errorf("the agent's full reconcile of %d endpoints took up to %s, target under %s", reconcileEndpoints, worst, maxReconcile)
	}

	sim.revoke(t)
	sim.waitDevice(t, b, v)
	cb.teardown(t)
	b.checkClean(t)
	w.checkNoEndpoints(t)
}

// simCluster is the simulated hosts of a network: registered in etcd, with
// their endpoints, and nothing else.
type simCluster struct {
	w       *world
	c       *cluster.Cluster
	network string
	hosts   []simHost
	eps     []cluster.Endpoint
	// made counts the endpoints made, for their MACs and addresses.
	made int
}

// simHost is a simulated host.
type simHost struct {
	name  string
	vtep  netip.Addr
	lease clientv3.LeaseID
}

// newSimCluster returns the simulated hosts of network, none yet, which
// reach etcd as host h does; those still registered are revoked at
// cleanup.
func newSimCluster(t *testing.T, h *host, network string) *simCluster {
	t.Helper()
	cfg, err := config.Load(h.config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := cluster.Open(ctx, agent.ClusterConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	s := &simCluster{w: h.w, c: c, network: network}
	t.Cleanup(func() {
		s.revoke(t)
		c.Close()
	})
	return s
}

// register registers n simulated hosts, sim1 to simN, at underlay
// addresses of their own (192.0.2.101 and on) that nothing answers.
func (s *simCluster) register(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range n {
		h := simHost{name: fmt.Sprintf("sim%d", i+1), vtep: netip.AddrFrom4([4]byte{192, 0, 2, byte(101 + i)})}
		var err error
		if h.lease, err = s.c.RegisterHost(ctx, h.name, h.vtep, simTTL); err != nil {
			t.Fatal(err)
		}
		s.hosts = append(s.hosts, h)
	}
}

// attach attaches a new endpoint on simulated host i, with a MAC and
// addresses of its own, and returns it.
func (s *simCluster) attach(t *testing.T, i int) cluster.Endpoint {
	t.Helper()
	h := s.hosts[i]
	s.made++
	// Addresses from .16 (fd44::10) on are neither the gateway nor the
	// real containers'.
	k := 16 + s.made
	v4, v6 := nthAddr(benchSubnetV4, k), nthAddr(benchSubnetV6, k)
	spec := cluster.Endpoint{
		Network: s.network, Host: h.name, Key: fmt.Sprintf("ep%d-eth0", s.made), VTEP: h.vtep,
		MAC:       net.HardwareAddr{0x02, 0xbe, byte(s.made >> 24), byte(s.made >> 16), byte(s.made >> 8), byte(s.made)}.String(),
		Addresses: []netip.Prefix{netip.PrefixFrom(v4, 16), netip.PrefixFrom(v6, 64)},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ep, err := s.c.Attach(ctx, spec, h.lease)
	if err != nil {
		t.Fatal(err)
	}
	s.eps = append(s.eps, ep)
	return ep
}

// count returns the number of endpoints of the simulated hosts.
func (s *simCluster) count() int { return len(s.eps) }

// endpoints returns the endpoints of the simulated hosts.
func (s *simCluster) endpoints() []cluster.Endpoint { return s.eps }

// revoke revokes the simulated hosts' leases: they and their endpoints are
// gone from etcd.
func (s *simCluster) revoke(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, h := range s.hosts {
		if _, err := s.w.etcd.Revoke(ctx, h.lease); err != nil {
			t.Errorf("revoke the lease of %s: %v", h.name, err)
		}
	}
	s.hosts, s.eps = nil, nil
}

// want returns the entries that h's device of vni must have: those of the
// simulated hosts' endpoints, in the form of host.entries.
func (s *simCluster) want() (fdb, neighs map[string]bool) {
	fdb, neighs = map[string]bool{}, map[string]bool{}
	for _, ep := range s.eps {
		fdb[ep.MAC+" "+ep.VTEP.String()] = true
		for _, a := range ep.Addresses {
			neighs[a.Addr().String()+" "+ep.MAC] = true
		}
	}
	return fdb, neighs
}

// waitDevice waits until h's device of vni has exactly the entries of the
// simulated hosts' endpoints, as its agent follows them, and fails the
// test after 60 s.
func (s *simCluster) waitDevice(t *testing.T, h *host, vni uint32) {
	t.Helper()
	wantFDB, wantNeighs := s.want()
	var fdb, neighs map[string]bool
	ok := waitFor(60*time.Second, func() bool {
		fdb, neighs, _ = h.entries(t, vni)
		return mapsEqual(fdb, wantFDB) && mapsEqual(neighs, wantNeighs)
	})
	if !ok {
		t.Fatalf("%s's device has %d forwarding and %d neighbour entries after 60s, want %d and %d",
			h.name, len(fdb), len(neighs), len(wantFDB), len(wantNeighs))
	}
}

// checkDevice fails the test unless h's device of vni has exactly the
// entries of the simulated hosts' endpoints.
func (s *simCluster) checkDevice(t *testing.T, h *host, vni uint32) {
	t.Helper()
	wantFDB, wantNeighs := s.want()
	fdb, neighs, _ := h.entries(t, vni)
	if !mapsEqual(fdb, wantFDB) || !mapsEqual(neighs, wantNeighs) {
		t.Fatalf("%s's device has %d forwarding and %d neighbour entries, want %d and %d",
			h.name, len(fdb), len(neighs), len(wantFDB), len(wantNeighs))
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// vxlanIndex returns the link index of h's VXLAN device of vni.
func vxlanIndex(t *testing.T, h *host, vni uint32) int {
	t.Helper()
	link, err := h.nl.LinkByName(overlay.VXLANName(vni))
	if err != nil {
		t.Fatal(err)
	}
	return link.Attrs().Index
}

// neighWatch is a subscription to the neighbour notifications (forwarding
// entries and neighbour entries) of a host's VXLAN device, each stamped
// with the time it was received.
type neighWatch struct {
	vx      int
	updates chan stampedNeigh
	done    chan struct{}
	once    sync.Once
	mu      sync.Mutex
	err     error
}

type stampedNeigh struct {
	at time.Time
	netlink.NeighUpdate
}

// watchNeighs subscribes to the neighbour notifications of h's namespace,
// for its device of link index vx, until stop or the end of the test.
func watchNeighs(t *testing.T, h *host, vx int) *neighWatch {
	t.Helper()
	ns, err := netns.GetFromPath(h.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	nw := &neighWatch{vx: vx, updates: make(chan stampedNeigh, 1<<16), done: make(chan struct{})}
	ch := make(chan netlink.NeighUpdate, 1024)
	err = netlink.NeighSubscribeWithOptions(ch, nw.done, netlink.NeighSubscribeOptions{
		Namespace: &ns,
		// A full reconcile sends thousands of notifications at once.
		ReceiveBufferSize: 32 << 20, ReceiveBufferForceSize: true,
		ErrorCallback: func(err error) {
			nw.mu.Lock()
			defer nw.mu.Unlock()
			if nw.err == nil {
				nw.err = err
			}
		},
	})
	if err != nil {
		t.Fatalf("subscribe to the neighbour notifications of %s: %v", h.name, err)
	}
	go func() {
		defer close(nw.updates)
		for u := range ch {
			nw.updates <- stampedNeigh{time.Now(), u}
		}
	}()
	t.Cleanup(nw.stop)
	return nw
}

// stop ends the subscription.
func (nw *neighWatch) stop() { nw.once.Do(func() { close(nw.done) }) }

// next returns the next notification of an entry added to the device, or
// fails the test at deadline or if the subscription failed.
func (nw *neighWatch) next(t *testing.T, deadline <-chan time.Time) stampedNeigh {
	t.Helper()
	for {
		select {
		case u, ok := <-nw.updates:
			if !ok {
				nw.mu.Lock()
				defer nw.mu.Unlock()
				t.Fatalf("the neighbour notifications stopped: %v", nw.err)
			}
			if u.Type == unix.RTM_NEWNEIGH && u.LinkIndex == nw.vx {
				return u
			}
		case <-deadline:
			t.Fatal("timed out waiting for the entries on the device")
		}
	}
}

// key returns the entry of u in the form of host.entries, and whether it
// is a forwarding entry; "" for an entry that is neither a forwarding
// entry to a VTEP nor a permanent neighbour entry.
func (u stampedNeigh) key() (string, bool) {
	switch {
	case u.Family == unix.AF_BRIDGE && u.Flags&netlink.NTF_SELF != 0 && u.IP != nil:
		return u.HardwareAddr.String() + " " + u.IP.String(), true
	case u.Family != unix.AF_BRIDGE && u.State&netlink.NUD_PERMANENT != 0:
		return u.IP.String() + " " + u.HardwareAddr.String(), false
	}
	return "", false
}

// waitEndpoint returns when the device got ep's forwarding entry, and all
// its entries.
func (nw *neighWatch) waitEndpoint(t *testing.T, ep cluster.Endpoint, timeout time.Duration) (fdb, all time.Time) {
	t.Helper()
	_, fdb, all = nw.waitAll(t, []cluster.Endpoint{ep}, timeout)
	return fdb, all
}

// waitAll returns when the device got its first entry of eps, the last of
// their forwarding entries, and the last of all their entries.
func (nw *neighWatch) waitAll(t *testing.T, eps []cluster.Endpoint, timeout time.Duration) (first, lastFDB, lastAll time.Time) {
	t.Helper()
	fdb, neighs := map[string]bool{}, map[string]bool{}
	for _, ep := range eps {
		fdb[ep.MAC+" "+ep.VTEP.String()] = true
		for _, a := range ep.Addresses {
			neighs[a.Addr().String()+" "+ep.MAC] = true
		}
	}
	deadline := time.After(timeout)
	for len(fdb)+len(neighs) > 0 {
		u := nw.next(t, deadline)
		k, isFDB := u.key()
		want := neighs
		if isFDB {
			want = fdb
		}
		if !want[k] {
			continue
		}
		delete(want, k)
		if first.IsZero() {
			first = u.at
		}
		if isFDB && len(fdb) == 0 {
			lastFDB = u.at
		}
		lastAll = u.at
	}
	return first, lastFDB, lastAll
}

// nthAddr returns the address k after the first of subnet.
func nthAddr(subnet string, k int) netip.Addr {
	b := netip.MustParsePrefix(subnet).Addr().As16()
	for i := 15; k > 0; i-- {
		sum := int(b[i]) + k
		b[i], k = byte(sum), sum>>8
	}
	return netip.AddrFrom16(b).Unmap()
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// medianMax formats the median and the maximum of ds.
func medianMax(ds []time.Duration) string {
	return fmt.Sprintf("%.2f / %.2f ms", float64(median(ds).Microseconds())/1000, float64(slices.Max(ds).Microseconds())/1000)
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}
