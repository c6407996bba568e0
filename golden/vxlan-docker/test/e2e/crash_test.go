package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/demo/internal/nstest"
	"example.com/demo/internal/protocol"
)

// The crash test kills the plugin's setup with SIGKILL at random moments,
// and checks that the teardown that the runtime runs next removes whatever
// the killed one left, on the host, in etcd and on the other hosts: a crash
// of the plugin, or of the host under it, must never leave a link, a
// firewall rule, a lock, an endpoint or an address behind.

// crashKills is how many setups TestCrashSetup kills.
const crashKills = 100

// crashCallTimeout bounds a call of the plugin after a kill: one that waits
// longer is stuck on a lock that the killed call left held.
const crashCallTimeout = 10 * time.Second

// TestCrashSetup kills the plugin during setup on host A of two, at a
// random moment within a setup's usual duration, then runs teardown with
// the same input, which must leave A's namespace and the container's as
// they were before: no link, address, route or nftables object of the
// plugin, and no lock file of the network's bridge. Nor may the container
// stay in etcd (its endpoint, its addresses) or on the VXLAN device of host
// B, where a container of the network runs so that the network's peers
// exist. The plugin runs as netavark runs it, in A's namespace. The moments
// fall before setup changed anything, in the middle (the endpoint recorded
// in etcd, the devices made, the container attached), and after it was
// done, B's container programmed on A's device; a kill that came too late
// is a setup that completed, torn down all the same.
func TestCrashSetup(t *testing.T) {
	w, n := newCluster(t, 2)
	a, b := w.hosts[0], w.hosts[1]
	v := vni(t, n)
	peer := b.newContainer(t, n)
	peer.setup(t)

	c := a.newContainer(t, n)
	c.opts.PortMappings = []protocol.PortMapping{{HostPort: 8242, ContainerPort: serverPort, Range: 1, Protocol: "tcp,udp"}}
	req := protocol.NetworkPluginExec{
		ContainerID:    c.opts.ContainerID,
		ContainerName:  c.opts.ContainerName,
		PortMappings:   c.opts.PortMappings,
		Network:        n,
		NetworkOptions: c.opts.Networks[n.Name],
	}
	input, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	// plugin is `demo CMD NETNS` in A's namespace, as netavark runs it;
	// nsenter execs the plugin, so that a signal to the process is one to
	// the plugin.
	plugin := func(ctx context.Context, cmd string) *exec.Cmd {
		p := exec.CommandContext(ctx, w.nsenter, "--net="+a.ns, pluginBin, cmd, c.ns)
		p.Stdin = bytes.NewReader(input)
		p.Env = append(os.Environ(), "DEMO_CONFIG="+a.config)
		return p
	}
	call := func(cmd string) (string, time.Duration) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), crashCallTimeout)
		defer cancel()
		p := plugin(ctx, cmd)
		var stdout, stderr bytes.Buffer
		p.Stdout, p.Stderr = &stdout, &stderr
		start := time.Now()
		err := p.Run()
		took := time.Since(start)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("%s is stuck after %s, on a lock left held?\n%s\nstderr: %s", cmd, crashCallTimeout, crashLockFiles(t, a), stderr.String())
		}
		if err != nil {
			t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", cmd, err, stdout.String(), stderr.String())
		}
		c.up = cmd == "setup"
		return stdout.String(), took
	}
	// state is A's namespace and the container's, and the lock files in
	// A's lock dir but the firewall's.
	state := func() string {
		t.Helper()
		lines := []string{a.state(t), nstest.Snapshot(t, c.ns)}
		if locks := crashLockFiles(t, a); locks != "" {
			lines = append(lines, locks)
		}
		return strings.Join(lines, "\n")
	}
	// inEtcd is the endpoints and addresses of the cluster.
	inEtcd := func() string {
		t.Helper()
		return strings.Join(append(w.keys(t, "endpoints/"), w.keys(t, "addresses/")...), "\n")
	}

	// A few complete rounds first: they measure a setup, tell the MAC of
	// the container, and make what setup changes once for good (lo up in
	// the container) before the states to come back to are taken.
	var durations []time.Duration
	var mac net.HardwareAddr
	for range 5 {
		out, took := call("setup")
		durations = append(durations, took)
		m := crashMAC(t, out)
		if mac != nil && m.String() != mac.String() {
			t.Fatalf("setup gave the container MAC %s, then %s", mac, m)
		}
		mac = m
		call("teardown")
	}
	slices.Sort(durations)
	typical := durations[len(durations)/2]
	before, etcdBefore := state(), inEtcd()
	if got := nstest.Settle(t, a.baseline, func() string { return a.state(t) }); got != a.baseline {
		t.Fatalf("%s is not as it was before its containers after 5 setups and teardowns:\n%s", a.name, nstest.Diff(a.baseline, got))
	}
	// onB is what B's VXLAN device has of the container: its forwarding
	// entry or a neighbour entry with its MAC.
	onB := func() []string {
		t.Helper()
		fdb, neighs, ok := b.entries(t, v)
		if !ok {
			t.Fatalf("%s has no VXLAN device of VNI %d", b.name, v)
		}
		var out []string
		for _, m := range []map[string]bool{fdb, neighs} {
			for e := range m {
				if strings.Contains(e, mac.String()) {
					out = append(out, e)
				}
			}
		}
		slices.Sort(out)
		return out
	}

	start := time.Now()
	var nothing, recorded, partial, complete, finished int
	for i := range crashKills {
		delay := rand.N(typical)
		killed := nstest.Kill(t, plugin(context.Background(), "setup"), delay)
		after, etcdAfter := state(), inEtcd()
		all, _ := a.knows(t, v, peer)
		switch {
		case !killed:
			finished++
		case after == before && etcdAfter == etcdBefore:
			nothing++
		case all:
			// B's container programmed on A's device: setup's last
			// change is made.
			complete++
		case after == before:
			// The endpoint and its addresses recorded in etcd, and
			// nothing on the host yet.
			recorded++
		default:
			partial++
		}
		call("teardown")
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("kill %d, %v into setup (killed %t): %s\nstate after the kill:\n%s\netcd after the kill:\n%s",
				i+1, delay, killed, fmt.Sprintf(format, args...), nstest.Diff(before, after), etcdAfter)
		}
		if got := nstest.Settle(t, before, state); got != before {
			fail("teardown left a difference:\n%s", nstest.Diff(before, got))
		}
		if got := inEtcd(); got != etcdBefore {
			fail("teardown left in etcd:\n%s\nwant:\n%s", got, etcdBefore)
		}
		if !waitFor(2*time.Second, func() bool { return len(onB()) == 0 }) {
			fail("2s after the teardown, %s's VXLAN device still has entries of the container: %v", b.name, onB())
		}
	}
	t.Logf("%d setups killed within %v, in %s: %d before any change, %d with the endpoint in etcd alone, %d midway on the host, %d with every change made; %d completed before the kill",
		crashKills, typical, time.Since(start).Round(time.Millisecond), nothing, recorded, partial, complete, finished)
	if partial == 0 {
		t.Errorf("no kill landed in the middle of a setup on the host: the test tests nothing")
	}

	// The lock files are free, and the plugin works as before: the
	// container reaches B's and B's reaches it.
	out, _ := call("setup")
	c.mac = crashMAC(t, out)
	var status protocol.StatusBlock
	if err := json.Unmarshal([]byte(out), &status); err != nil {
		t.Fatal(err)
	}
	for _, s := range status.Interfaces["eth0"].Subnets {
		if ip := s.IPNet.Addr(); ip.Is4() {
			c.ip4 = ip
		} else {
			c.ip6 = ip
		}
	}
	nstest.Serve(t, c.ns, "tcp", serverPort)
	if !waitFor(2*time.Second, func() bool { all, _ := b.knows(t, v, c); return all }) {
		t.Fatalf("%s's VXLAN device lacks the entries of %s after a last setup", b.name, c)
	}
	reach(t, c, peer)
	reach(t, peer, c)
	call("teardown")
	if got := nstest.Settle(t, before, state); got != before {
		t.Fatalf("a last setup and teardown left a difference:\n%s", nstest.Diff(before, got))
	}
	if got := inEtcd(); got != etcdBefore {
		t.Fatalf("a last setup and teardown left in etcd:\n%s", got)
	}
	a.checkClean(t)
}

// crashLockFiles lists the lock files in h's lock dir, but the firewall's,
// which stays: a line "lock file NAME" for each.
func crashLockFiles(t testing.TB, h *host) string {
	t.Helper()
	files, err := os.ReadDir(h.lockDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range files {
		if f.Name() != "firewall" {
			lines = append(lines, "lock file "+f.Name())
		}
	}
	return strings.Join(lines, "\n")
}

// crashMAC returns the MAC of eth0 in the status block that setup printed.
func crashMAC(t testing.TB, out string) net.HardwareAddr {
	t.Helper()
	var status protocol.StatusBlock
	if err := json.Unmarshal([]byte(out), &status); err != nil {
		t.Fatalf("setup's output %q: %v", out, err)
	}
	mac := net.HardwareAddr(status.Interfaces["eth0"].MACAddress)
	if len(mac) != 6 {
		t.Fatalf("setup reported no MAC of eth0: %s", out)
	}
	return mac
}
