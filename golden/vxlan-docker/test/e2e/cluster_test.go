package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"example.com/demo/internal/cluster"
	"example.com/demo/internal/config"
	"example.com/demo/internal/etcdtest"
	"example.com/demo/internal/nstest"
	"example.com/demo/internal/overlay"
	"example.com/demo/internal/protocol"
)

// The underlay is 192.0.2.0/24 and 2001:db8:1::/64: the switch (a bridge
// in the test's namespace, where etcd listens) has .1 and ::1, host hN has
// .1N and ::1N, its VTEP being the IPv4 one. The networks' subnets are
// 10.42.0.0/24 and fd42::/64.
const (
	underlayV4 = "192.0.2.1"
	underlayV6 = "2001:db8:1::1"
	subnetV4   = "10.42.0.0/24"
	subnetV6   = "fd42::/64"
)

// serverPort is where every container's server (nstest.Serve) listens.
const serverPort = 7000

// defaultTTL is the lease of the hosts' agents unless a test says
// otherwise: the agent's default.
const defaultTTL = 15 * time.Second

// world is a cluster: etcd, and hosts on the underlay.
type world struct {
	// netavark and nsenter are the programs' paths.
	netavark, nsenter string
	// endpoints are etcd's client URLs; etcd is a client of it, for the
	// tests' checks.
	endpoints []string
	etcd      *clientv3.Client
	hosts     []*host
	// underlay is the underlay's bridge, and ul a netlink handle in its
	// namespace, the test's.
	underlay netlink.Link
	ul       *netlink.Handle
	// agents are the agents started, stopped at the world's cleanup:
	// after the containers' teardowns, which call them.
	mu     sync.Mutex
	agents []func()
}

// newWorld starts etcd on the underlay and makes n hosts, h1 to hN, with
// their configuration files; no agent runs yet (host.startAgent).
func newWorld(t *testing.T, n int) *world {
	t.Helper()
	nstest.RequireRoot(t)
	w := &world{netavark: nstest.Netavark(t)}
	// Registered first, this runs last.
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, stop := range slices.Backward(w.agents) {
			stop()
		}
	})
	var err error
	if w.nsenter, err = exec.LookPath("nsenter"); err != nil {
		nstest.SkipOrFail(t, "no nsenter (util-linux): the agents and netavark run in the hosts' namespaces through it")
	}
	if w.ul, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.ul.Close)
	attrs := netlink.NewLinkAttrs()
	attrs.Name = nstest.UniqueName("ul")
	attrs.Flags = net.FlagUp
	w.underlay = &netlink.Bridge{LinkAttrs: attrs}
	if err := w.ul.LinkAdd(w.underlay); err != nil {
		t.Fatalf("create the underlay bridge: %v", err)
	}
	t.Cleanup(func() { w.ul.LinkDel(w.underlay) })
	addAddrs(t, w.ul, w.underlay, underlayV4+"/24", underlayV6+"/64")

	srv := etcdtest.Start(t, underlayV4)
	w.endpoints = srv.Endpoints()
	w.etcd, err = clientv3.New(clientv3.Config{Endpoints: w.endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.etcd.Close() })
	for i := range n {
		w.hosts = append(w.hosts, w.addHost(t, i+1))
	}
	return w
}

// newCluster is newWorld with every host's agent started with the default
// lease, and a network created on subnetV4 and subnetV6.
func newCluster(t *testing.T, n int) (*world, protocol.Network) {
	t.Helper()
	w := newWorld(t, n)
	for _, h := range w.hosts {
		h.startAgent(t, defaultTTL)
	}
	return w, w.createNetwork(t, subnetV4, subnetV6)
}

// addAddrs adds addrs to link, usable at once (no duplicate address
// detection), and sets it up.
func addAddrs(t *testing.T, h *netlink.Handle, link netlink.Link, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		addr, err := netlink.ParseAddr(a)
		if err != nil {
			t.Fatal(err)
		}
		addr.Flags = unix.IFA_F_NODAD
		if err := h.AddrAdd(link, addr); err != nil {
			t.Fatalf("add %s to %s: %v", a, link.Attrs().Name, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
}

// host is a network namespace that plays a host of the cluster.
type host struct {
	w            *world
	name         string
	ns           string
	vtep4, vtep6 netip.Addr
	// dir holds the host's files: config is its configuration file, which
	// the plugin and the agent read, lockDir its lock dir (the hosts share
	// a file system) and nvDir netavark's configuration directory.
	dir, config, lockDir, nvDir string
	nl                          *netlink.Handle
	// baseline is the host's state (state) before any container.
	baseline string
	// agent is the host's agent process, or nil.
	agent *agentProc
}

// addHost makes host hi: a namespace behind a veth from the underlay
// bridge, eth0 there with its addresses, lo up, and a configuration file.
func (w *world) addHost(t *testing.T, i int) *host {
	t.Helper()
	h := &host{
		w:     w,
		name:  fmt.Sprintf("h%d", i),
		ns:    nstest.NewNetns(t),
		vtep4: netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", 10+i)),
		vtep6: netip.MustParseAddr(fmt.Sprintf("2001:db8:1::%d", 10+i)),
		dir:   t.TempDir(),
	}
	h.lockDir, h.nvDir = filepath.Join(h.dir, "lock"), filepath.Join(h.dir, "netavark")
	if err := os.Mkdir(h.nvDir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.nl = nstest.Handle(t, h.ns)
	ns, err := netns.GetFromPath(h.ns)
	if err != nil {
		t.Fatal(err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = nstest.UniqueName("ul")
	attrs.MasterIndex = w.underlay.Attrs().Index
	attrs.Flags = net.FlagUp
	err = w.ul.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "eth0", PeerNamespace: netlink.NsFd(ns)})
	ns.Close()
	if err != nil {
		t.Fatalf("create the underlay link of %s: %v", h.name, err)
	}
	for _, name := range []string{"lo", "eth0"} {
		link, err := h.nl.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		var addrs []string
		if name == "eth0" {
			addrs = []string{h.vtep4.String() + "/24", h.vtep6.String() + "/64"}
		}
		addAddrs(t, h.nl, link, addrs...)
	}
	// The plugin turns forwarding on for its networks, as netavark
	// does, and leaves it on: the hosts have it on already, so that
	// their state before and after containers is the same.
	nstest.Do(t, h.ns, func() {
		for _, f := range []string{"ipv4/ip_forward", "ipv6/conf/all/forwarding"} {
			if err := os.WriteFile("/proc/sys/net/"+f, []byte("1"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	h.config = h.writeConfig(t, nil)
	// The kernel adds the routes of eth0's IPv6 address and multicast
	// after a while: the baseline is the state with them.
	settled := func() bool {
		h.baseline = h.state(t)
		return strings.Contains(h.baseline, "dst="+h.vtep6.String()+"/128 gw=<nil> dev=eth0") &&
			strings.Contains(h.baseline, "dst=ff00::/8 gw=<nil> dev=eth0")
	}
	if !waitFor(2*time.Second, settled) {
		t.Fatalf("%s: eth0's IPv6 routes are missing after 2s:\n%s", h.name, h.baseline)
	}
	return h
}

// writeConfig writes a configuration file for the host, as edit changes
// it, and returns its path.
func (h *host) writeConfig(t *testing.T, edit func(*config.Config)) string {
	t.Helper()
	cfg := config.Config{Etcd: config.Etcd{Endpoints: h.w.endpoints}, Host: h.name, VTEP: h.vtep4, LockDir: h.lockDir,
		AgentSocket: h.socket()}
	if edit != nil {
		edit(&cfg)
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(h.dir, "config-*.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// socket is where the host's agent serves the plugin.
func (h *host) socket() string { return filepath.Join(h.dir, "agent.sock") }

// state describes the host's namespace (nstest.Snapshot: links, addresses,
// routes, nftables), less its link-local addresses, which the kernel adds
// by itself.
func (h *host) state(t testing.TB) string {
	t.Helper()
	lines := strings.Split(nstest.Snapshot(t, h.ns), "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.Contains(l, "fe80:") })
	return strings.Join(lines, "\n")
}

// checkClean fails the test unless the host is as it was before its first
// container: no link, address, route or nftables object of the plugin's,
// and no lock file of a bridge.
func (h *host) checkClean(t *testing.T) {
	t.Helper()
	if got := nstest.Settle(t, h.baseline, func() string { return h.state(t) }); got != h.baseline {
		t.Errorf("%s is not as it was before its containers:\n%s", h.name, nstest.Diff(h.baseline, got))
	}
	files, err := os.ReadDir(h.lockDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, f := range files {
		// The firewall's lock, of the plugin's nftables table on the
		// host, is one file that stays.
		if f.Name() != "firewall" {
			t.Errorf("%s: lock file %s left in %s", h.name, f.Name(), h.lockDir)
		}
	}
}

// agentProc is a running agent.
type agentProc struct {
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{}
}

// logBuffer is an agent's log.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startAgent starts the host's agent in its namespace, with a lease of ttl
// and args added to its flags, and waits until it has registered the host
// and reconciled its devices. It is stopped at the world's cleanup, after
// the containers' teardowns, and its log shown if the test failed.
func (h *host) startAgent(t *testing.T, ttl time.Duration, args ...string) {
	t.Helper()
	a := &agentProc{log: &logBuffer{}, done: make(chan struct{})}
	argv := append([]string{"--net=" + h.ns, agentBin, "--config", h.config, "--ttl", ttl.String(), "--log-level", "debug"}, args...)
	a.cmd = exec.Command(h.w.nsenter, argv...)
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start the agent of %s: %v", h.name, err)
	}
	go func() {
		a.cmd.Wait()
		close(a.done)
	}()
	h.agent = a
	h.w.mu.Lock()
	h.w.agents = append(h.w.agents, func() {
		a.stop()
		if t.Failed() {
			t.Logf("log of an agent of %s:\n%s", h.name, a.log)
		}
	})
	h.w.mu.Unlock()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(a.log.String(), "msg=reconciled") {
		select {
		case <-a.done:
			t.Fatalf("the agent of %s exited: %v\n%s", h.name, a.cmd.ProcessState, a.log)
		case <-deadline:
			t.Fatalf("the agent of %s has not reconciled after 10s:\n%s", h.name, a.log)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// killAgent kills the host's agent with SIGKILL, as if the host had
// crashed under it, and waits for it to die.
func (h *host) killAgent(t *testing.T) {
	t.Helper()
	if h.agent == nil {
		t.Fatalf("%s has no agent", h.name)
	}
	_ = h.agent.cmd.Process.Signal(syscall.SIGKILL)
	<-h.agent.done
	h.agent = nil
}

// stop stops the agent with SIGTERM, or SIGKILL after 5s, and waits for it.
func (a *agentProc) stop() {
	select {
	case <-a.done:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
		_ = a.cmd.Process.Signal(syscall.SIGKILL)
		<-a.done
	}
}

// plugin runs the plugin directly in the host's namespace, with the
// host's configuration file and env added, as `demo ARGS` with stdin.
func (h *host) plugin(t *testing.T, stdin []byte, env []string, args ...string) result {
	t.Helper()
	c := exec.Command(h.w.nsenter, append([]string{"--net=" + h.ns, pluginBin}, args...)...)
	res, err := run(c, stdin, append([]string{"DEMO_CONFIG=" + h.config}, env...)...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// create runs the plugin's create on h for a network on subnets, as podman
// does for `podman network create -d demo --subnet ...`.
func (h *host) create(t *testing.T, name string, env []string, subnets ...string) result {
	t.Helper()
	n := protocol.Network{Name: name, ID: randomHex(32), Driver: driver, IPAMOptions: map[string]string{"driver": "host-local"}}
	for _, s := range subnets {
		p := netip.MustParsePrefix(s)
		n.Subnets = append(n.Subnets, protocol.Subnet{Subnet: protocol.IPNet{Prefix: p}, Gateway: p.Addr().Next()})
		n.IPv6Enabled = n.IPv6Enabled || p.Addr().Is6()
	}
	in, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return h.plugin(t, in, env, "create")
}

// createNetwork creates a network on subnets with the plugin's create, on
// the first host, and returns it as create completed it: with its VNI,
// its bridge and IPAM driver none.
func (w *world) createNetwork(t *testing.T, subnets ...string) protocol.Network {
	t.Helper()
	name := nstest.UniqueName("net-")
	res := w.hosts[0].create(t, name, nil, subnets...)
	if res.code != 0 {
		t.Fatalf("create network %s: %s", name, res)
	}
	var n protocol.Network
	if err := json.Unmarshal([]byte(res.stdout), &n); err != nil {
		t.Fatalf("create's output %q: %v", res.stdout, err)
	}
	if n.Name != name || n.IPAMOptions["driver"] != "none" || n.NetworkInterface != overlay.BridgeName(vni(t, n)) {
		t.Fatalf("create returned %s", res.stdout)
	}
	return n
}

// vni returns the VNI that create gave network n.
func vni(t testing.TB, n protocol.Network) uint32 {
	t.Helper()
	v, err := strconv.ParseUint(n.Options["vni"], 10, 32)
	if err != nil {
		t.Fatalf("network %s: option vni: %v", n.Name, err)
	}
	return uint32(v)
}

// randomHex returns n random bytes in hex, as podman's IDs are (32 bytes).
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// container is a container's namespace behind a host, on one network.
type container struct {
	host    *host
	ns      string
	network string
	opts    protocol.NetavarkOptions
	// mac, ip4 and ip6 are what setup reported of its eth0.
	mac      net.HardwareAddr
	ip4, ip6 netip.Addr
	// up is set from a successful setup until its teardown.
	up bool
}

func (c *container) String() string {
	return fmt.Sprintf("%s on %s (%s, %s)", c.opts.ContainerName, c.host.name, c.ip4, c.ip6)
}

// newContainer makes a container namespace behind h for network n, which
// is torn down at cleanup if it is set up then.
func (h *host) newContainer(t *testing.T, n protocol.Network) *container {
	t.Helper()
	c := &container{host: h, ns: nstest.NewNetns(t), network: n.Name}
	c.opts = protocol.NetavarkOptions{
		ContainerID:   randomHex(32),
		ContainerName: nstest.UniqueName("ctr-"),
		Networks:      map[string]protocol.PerNetworkOptions{n.Name: {InterfaceName: "eth0"}},
		NetworkInfo:   map[string]protocol.Network{n.Name: n},
	}
	t.Cleanup(func() {
		if !c.up {
			return
		}
		if res, err := h.netavark("teardown", c); err != nil || res.code != 0 {
			t.Errorf("teardown of %s at cleanup: %v %s", c, err, res)
		}
	})
	return c
}

// netavark runs `netavark CMD` for c in its host's namespace, as podman
// would, with the host's configuration file, and env added.
func (h *host) netavark(cmd string, c *container, env ...string) (result, error) {
	in, err := json.Marshal(c.opts)
	if err != nil {
		return result{}, err
	}
	nv := exec.Command(h.w.nsenter, "--net="+h.ns, h.w.netavark, "--config", h.nvDir, "--plugin-directory", pluginDir, cmd, c.ns)
	// netavark gets no firewall driver: plugins do their own. No D-Bus:
	// netavark would ask firewalld.
	return run(nv, in, append([]string{"DEMO_CONFIG=" + h.config, "NETAVARK_FW=none", "DBUS_SYSTEM_BUS_ADDRESS="}, env...)...)
}

// setup sets c up with netavark on its host, fails the test if that fails,
// and starts c's server.
func (c *container) setup(t *testing.T) result {
	t.Helper()
	res, err := c.host.netavark("setup", c)
	if err == nil {
		err = c.started(res)
	}
	if err != nil {
		t.Fatalf("setup of %s on %s: %v", c.opts.ContainerName, c.host.name, err)
	}
	nstest.Serve(t, c.ns, "tcp", serverPort)
	return res
}

// started records what setup res reported of c, or returns why res is not
// a successful setup with an IPv4 and an IPv6 address.
func (c *container) started(res result) error {
	if res.code != 0 {
		return fmt.Errorf("netavark setup: %s", res)
	}
	c.up = true
	var status map[string]protocol.StatusBlock
	if err := json.Unmarshal([]byte(res.stdout), &status); err != nil {
		return fmt.Errorf("setup's output %q: %v", res.stdout, err)
	}
	iface, ok := status[c.network].Interfaces["eth0"]
	if !ok {
		return fmt.Errorf("setup's output has no eth0 on %s: %s", c.network, res.stdout)
	}
	c.mac = net.HardwareAddr(iface.MACAddress)
	for _, s := range iface.Subnets {
		if a := s.IPNet.Addr(); a.Is4() {
			c.ip4 = a
		} else {
			c.ip6 = a
		}
	}
	if len(c.mac) != 6 || !c.ip4.IsValid() || !c.ip6.IsValid() {
		return fmt.Errorf("setup reported no MAC, IPv4 or IPv6 address: %s", res.stdout)
	}
	return nil
}

// teardown tears c down with netavark on its host, and fails the test if
// that fails.
func (c *container) teardown(t *testing.T) result {
	t.Helper()
	res, err := c.host.netavark("teardown", c)
	if err != nil || res.code != 0 {
		t.Fatalf("teardown of %s: %v %s", c, err, res)
	}
	c.up = false
	return res
}

// reach checks that from reaches each address of to (the server of to
// answers), and that to sees from's own address of that family: nothing
// on the way translates it.
func reach(t *testing.T, from, to *container) {
	t.Helper()
	for _, p := range [][2]netip.Addr{{from.ip4, to.ip4}, {from.ip6, to.ip6}} {
		dst := netip.AddrPortFrom(p[1], serverPort).String()
		got, err := nstest.Probe(from.ns, "tcp", dst, 3*time.Second)
		switch {
		case err != nil:
			t.Errorf("%s -> %s: %v", from, to, err)
		case got != p[0].String():
			t.Errorf("%s -> %s: %s saw the client as %s, want %s", from, to, dst, got, p[0])
		}
	}
}

// entries reads h's VXLAN device of vni: its forwarding entries to other
// hosts ("MAC VTEP") and its permanent neighbour entries ("IP MAC"). ok
// is false if h has no such device.
func (h *host) entries(t testing.TB, vni uint32) (fdb, neighs map[string]bool, ok bool) {
	t.Helper()
	link, err := h.nl.LinkByName(overlay.VXLANName(vni))
	if err != nil {
		return nil, nil, false
	}
	fdb, neighs = map[string]bool{}, map[string]bool{}
	for _, family := range []int{unix.AF_BRIDGE, unix.AF_INET, unix.AF_INET6} {
		list, err := neighList(h.nl, link.Attrs().Index, family)
		if err != nil {
			t.Fatalf("%s: list the entries of %s: %v", h.name, link.Attrs().Name, err)
		}
		for _, n := range list {
			switch {
			case family == unix.AF_BRIDGE && n.Flags&netlink.NTF_SELF != 0 && n.IP != nil:
				fdb[n.HardwareAddr.String()+" "+n.IP.String()] = true
			case family != unix.AF_BRIDGE && n.State&netlink.NUD_PERMANENT != 0:
				neighs[n.IP.String()+" "+n.HardwareAddr.String()] = true
			}
		}
	}
	return fdb, neighs, true
}

// neighList lists the entries of family on link index, again while the
// kernel says that the table changed during the dump.
func neighList(h *netlink.Handle, index, family int) ([]netlink.Neigh, error) {
	for {
		list, err := h.NeighList(index, family)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return list, err
		}
	}
}

// knows says what h's VXLAN device of vni has of container c's entries:
// all, some or none of its forwarding entry to its host and its neighbour
// entries.
func (h *host) knows(t testing.TB, vni uint32, c *container) (all, some bool) {
	t.Helper()
	fdb, neighs, _ := h.entries(t, vni)
	has := []bool{
		fdb[c.mac.String()+" "+c.host.vtep4.String()],
		neighs[c.ip4.String()+" "+c.mac.String()],
		neighs[c.ip6.String()+" "+c.mac.String()],
	}
	return !slices.Contains(has, false), slices.Contains(has, true)
}

// waitFor polls cond until it holds or timeout passes, and returns whether
// it held.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// keys returns the keys under the cluster's prefix and prefix, such as
// "endpoints/".
func (w *world) keys(t testing.TB, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := w.etcd.Get(ctx, cluster.DefaultPrefix+prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatalf("read etcd: %v", err)
	}
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key))
	}
	return keys
}

// checkNoEndpoints fails the test if etcd holds an endpoint or an address.
func (w *world) checkNoEndpoints(t *testing.T) {
	t.Helper()
	for _, prefix := range []string{"endpoints/", "addresses/"} {
		if keys := w.keys(t, prefix); len(keys) > 0 {
			t.Errorf("left in etcd: %s", strings.Join(keys, " "))
		}
	}
}
