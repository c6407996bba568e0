// Package e2e runs the plugin under a real netavark binary, the way podman
// does: netavark reads the container's networks on stdin and execs the
// plugin, found by its file name in a plugin directory.
package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	drv "example.com/demo/internal/driver"
	"example.com/demo/internal/nstest"
	"example.com/demo/internal/protocol"
)

// driver is the plugin's name, and so the driver name of its networks;
// logEnv turns its log on.
const (
	driver = "demo"
	logEnv = "DEMO_LOG"
)

// pluginDir holds the plugin built by TestMain, named after the driver.
var pluginDir string

func TestMain(m *testing.M) {
	os.Exit(nstest.Main(func() int { return runTests(m) }))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", driver+"-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	pluginDir = dir
	if err := nstest.Build(filepath.Join(dir, driver), "../../cmd/"+driver); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// result is what one netavark run printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// runNetavark runs `netavark CMD NETNS` with opts on stdin, with the plugin
// directory dir, as podman would, and with env added to its environment.
func runNetavark(t testing.TB, nv, cmd, netnsPath string, opts protocol.NetavarkOptions, dir string, env ...string) result {
	t.Helper()
	return runCommand(t, exec.Command(nv, "--config", t.TempDir(), "--plugin-directory", dir, cmd, netnsPath), opts, env...)
}

// runCommand runs c, a netavark command, with opts on stdin and env added
// to its environment.
func runCommand(t testing.TB, c *exec.Cmd, opts protocol.NetavarkOptions, env ...string) result {
	t.Helper()
	input, err := json.Marshal(opts)
	if err != nil {
		t.Fatal(err)
	}
	c.Stdin = bytes.NewReader(input)
	// netavark's own bridge needs a firewall driver; plugins get none, and
	// the built-in bridge that the benchmark compares with runs without
	// unless env says otherwise. No D-Bus: netavark would ask firewalld.
	c.Env = append(os.Environ(), "NETAVARK_FW=none", "DBUS_SYSTEM_BUS_ADDRESS=")
	c.Env = append(c.Env, env...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err = c.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run %s: %v", c.Path, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: c.ProcessState.ExitCode()}
}

// testNetwork is a network of the plugin on subnets, with a bridge named
// for the test.
func testNetwork(t testing.TB, subnets ...string) protocol.Network {
	t.Helper()
	n := protocol.Network{
		Name:             nstest.UniqueName("net-"),
		ID:               nstest.UniqueName("id"),
		Driver:           driver,
		NetworkInterface: nstest.UniqueName("e2e"),
	}
	for _, s := range subnets {
		p := netip.MustParsePrefix(s)
		n.Subnets = append(n.Subnets, protocol.Subnet{Subnet: protocol.IPNet{Prefix: p}, Gateway: p.Addr().Next()})
		n.IPv6Enabled = n.IPv6Enabled || p.Addr().Is6()
	}
	t.Cleanup(func() { nstest.RemoveLink(t, n.NetworkInterface) })
	return n
}

// container returns netavark's input for one container on network with the
// given addresses.
func container(network protocol.Network, ips ...string) protocol.NetavarkOptions {
	opts := protocol.PerNetworkOptions{InterfaceName: "eth0"}
	for _, ip := range ips {
		opts.StaticIPs = append(opts.StaticIPs, netip.MustParseAddr(ip))
	}
	return protocol.NetavarkOptions{
		ContainerID:   nstest.UniqueName("ctr"),
		ContainerName: nstest.UniqueName("web-"),
		Networks:      map[string]protocol.PerNetworkOptions{network.Name: opts},
		NetworkInfo:   map[string]protocol.Network{network.Name: network},
	}
}

// inNetns returns the addresses of link name in the netns at path, or nil
// if there is no such link.
func inNetns(t testing.TB, path, name string) (netlink.Link, []netip.Prefix) {
	t.Helper()
	h := nstest.Handle(t, path)
	link, err := h.LinkByName(name)
	if err != nil {
		return nil, nil
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() {
			continue
		}
		ip, _ := netip.AddrFromSlice(a.IP)
		bits, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), bits))
	}
	return link, out
}

func TestSetupTeardown(t *testing.T) {
	tests := []struct {
		name    string
		subnets []string
		ips     []string
		mac     string
	}{
		{"ipv4", []string{"10.231.0.0/24"}, []string{"10.231.0.5"}, ""},
		{"ipv6", []string{"fd23:1::/64"}, []string{"fd23:1::5"}, ""},
		{"dual stack with static mac", []string{"10.232.0.0/24", "fd23:2::/64"}, []string{"10.232.0.5", "fd23:2::5"}, "aa:bb:cc:dd:ee:01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nv := nstest.Netavark(t)
			ns := nstest.NewNetns(t)
			network := testNetwork(t, tt.subnets...)
			in := container(network, tt.ips...)
			if tt.mac != "" {
				opts := in.Networks[network.Name]
				opts.StaticMAC, _ = protocol.ParseHardwareAddr(tt.mac)
				in.Networks[network.Name] = opts
			}

			res := runNetavark(t, nv, "setup", ns, in, pluginDir)
			if res.code != 0 {
				t.Fatalf("setup: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
			}
			var status map[string]protocol.StatusBlock
			if err := json.Unmarshal([]byte(res.stdout), &status); err != nil {
				t.Fatalf("setup output %q: %v", res.stdout, err)
			}
			iface, ok := status[network.Name].Interfaces["eth0"]
			if !ok {
				t.Fatalf("setup output has no eth0 on %s: %s", network.Name, res.stdout)
			}
			link, addrs := inNetns(t, ns, "eth0")
			if link == nil {
				t.Fatal("no eth0 in the container netns")
			}
			if got := link.Attrs().HardwareAddr.String(); got != iface.MACAddress.String() || tt.mac != "" && got != tt.mac {
				t.Errorf("eth0 has MAC %s, netavark reported %s, static %q", got, iface.MACAddress, tt.mac)
			}
			if link.Attrs().Flags&net.FlagUp == 0 {
				t.Errorf("eth0 is not up: %v", link.Attrs().OperState)
			}
			var reported []netip.Prefix
			for _, s := range iface.Subnets {
				reported = append(reported, s.IPNet.Prefix)
			}
			for i, ip := range tt.ips {
				want := netip.PrefixFrom(netip.MustParseAddr(ip), netip.MustParsePrefix(tt.subnets[i]).Bits())
				if !slices.Contains(addrs, want) || !slices.Contains(reported, want) {
					t.Errorf("address %s: in netns %v, reported %v", want, addrs, reported)
				}
			}
			if !nstest.LinkExists(t, network.NetworkInterface) {
				t.Errorf("no bridge %s on the host", network.NetworkInterface)
			}

			res = runNetavark(t, nv, "teardown", ns, in, pluginDir)
			if res.code != 0 || res.stdout != "" {
				t.Fatalf("teardown: exit %d, stdout %q (want empty)\nstderr: %s", res.code, res.stdout, res.stderr)
			}
			if link, _ := inNetns(t, ns, "eth0"); link != nil {
				t.Error("eth0 left in the container netns")
			}
			if nstest.LinkExists(t, network.NetworkInterface) {
				t.Errorf("bridge %s left on the host after its last container", network.NetworkInterface)
			}
			// The bridge's lock file goes with it.
			lock := filepath.Join(drv.DefaultLockDir, network.NetworkInterface+".lock")
			if _, err := os.Stat(lock); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("lock file %s left after the bridge: %v", lock, err)
			}
		})
	}
}

// TestSetupError checks the message netavark shows for a failing plugin,
// as netavark's own plugin tests do.
func TestSetupError(t *testing.T) {
	nv := nstest.Netavark(t)
	ns := nstest.NewNetns(t)
	network := testNetwork(t, "10.233.0.0/24")
	res := runNetavark(t, nv, "setup", ns, container(network, "10.99.0.5"), pluginDir)
	want := fmt.Sprintf(`{"error":"plugin \"%s\" failed: exit code 1, message: static ip 10.99.0.5 is outside every subnet of network %s"}`,
		driver, network.Name)
	if res.code != 1 || strings.TrimSpace(res.stdout) != want {
		t.Errorf("exit %d, stdout %s\nwant exit 1, stdout %s", res.code, res.stdout, want)
	}
	if nstest.LinkExists(t, network.NetworkInterface) {
		t.Errorf("failed setup left bridge %s", network.NetworkInterface)
	}
}

// TestQuietUnlessAsked checks that a successful setup writes nothing on
// stderr, which podman shows its user, and that the plugin's log reaches
// netavark's caller when DEMO_LOG asks for it, while stdout stays JSON.
func TestQuietUnlessAsked(t *testing.T) {
	nv := nstest.Netavark(t)
	ns := nstest.NewNetns(t)
	network := testNetwork(t, "10.234.0.0/24")
	in := container(network, "10.234.0.5")
	for _, env := range []string{"", logEnv + "=debug"} {
		res := runNetavark(t, nv, "setup", ns, in, pluginDir, env)
		if res.code != 0 {
			t.Fatalf("setup: exit %d: %s %s", res.code, res.stdout, res.stderr)
		}
		if !json.Valid([]byte(res.stdout)) {
			t.Errorf("stdout is not JSON: %q", res.stdout)
		}
		logged := strings.Contains(res.stderr, "msg=attached") && strings.Contains(res.stderr, in.ContainerName)
		switch {
		case env == "" && res.stderr != "":
			t.Errorf("setup wrote on stderr: %q", res.stderr)
		case env != "" && !logged:
			t.Errorf("with %s, the plugin's log is not on netavark's stderr: %q", env, res.stderr)
		}
		if res := runNetavark(t, nv, "teardown", ns, in, pluginDir, env); res.code != 0 || env == "" && res.stderr != "" {
			t.Errorf("teardown: exit %d, stderr %q", res.code, res.stderr)
		}
	}
}

// TestTeardownWithoutSetup checks a teardown that no setup preceded, as
// netavark sends when an earlier network of a container failed.
func TestTeardownWithoutSetup(t *testing.T) {
	nv := nstest.Netavark(t)
	ns := nstest.NewNetns(t)
	network := testNetwork(t, "10.235.0.0/24")
	in := container(network, "10.235.0.5")
	for i := range 2 {
		if res := runNetavark(t, nv, "teardown", ns, in, pluginDir); res.code != 0 || res.stdout != "" {
			t.Errorf("teardown %d: exit %d, stdout %q", i+1, res.code, res.stdout)
		}
	}
}

// TestTwoContainers checks that the bridge stays while a container uses it.
func TestTwoContainers(t *testing.T) {
	nv := nstest.Netavark(t)
	network := testNetwork(t, "10.236.0.0/24")
	ns1, ns2 := nstest.NewNetns(t), nstest.NewNetns(t)
	c1, c2 := container(network, "10.236.0.5"), container(network, "10.236.0.6")
	for ns, in := range map[string]protocol.NetavarkOptions{ns1: c1, ns2: c2} {
		if res := runNetavark(t, nv, "setup", ns, in, pluginDir); res.code != 0 {
			t.Fatalf("setup: exit %d: %s %s", res.code, res.stdout, res.stderr)
		}
	}
	if res := runNetavark(t, nv, "teardown", ns1, c1, pluginDir); res.code != 0 {
		t.Fatalf("teardown: exit %d: %s", res.code, res.stdout)
	}
	if !nstest.LinkExists(t, network.NetworkInterface) {
		t.Fatal("bridge removed while a container is still attached")
	}
	if link, _ := inNetns(t, ns2, "eth0"); link == nil {
		t.Fatal("teardown of one container removed another's interface")
	}
	if res := runNetavark(t, nv, "teardown", ns2, c2, pluginDir); res.code != 0 {
		t.Fatalf("teardown: exit %d: %s", res.code, res.stdout)
	}
	if nstest.LinkExists(t, network.NetworkInterface) {
		t.Error("bridge left after the last container")
	}
}

// TestFixtureInput runs netavark on the input podman sent it in a captured
// run (netavark 1.14, every field set), served by this plugin: its driver
// and bridge are replaced, the rest is as podman wrote it.
func TestFixtureInput(t *testing.T) {
	nv := nstest.Netavark(t)
	ns := nstest.NewNetns(t)
	data, err := os.ReadFile("../../internal/netavark/testdata/fixtures/netavark-1.14/full/netavark-input.json")
	if err != nil {
		t.Fatal(err)
	}
	var in protocol.NetavarkOptions
	if err := json.Unmarshal(data, &in); err != nil {
		t.Fatal(err)
	}
	const name = "capnet"
	network := in.NetworkInfo[name]
	network.Driver = driver
	network.NetworkInterface = nstest.UniqueName("e2e")
	t.Cleanup(func() { nstest.RemoveLink(t, network.NetworkInterface) })
	in.NetworkInfo[name] = network

	// The captured container carries an option this driver does not know
	// (vlan needs a vlan link): netavark must show the plugin's message,
	// and nothing may be left behind.
	res := runNetavark(t, nv, "setup", ns, in, pluginDir)
	if res.code != 1 || !strings.Contains(res.stdout, `unknown container option \"vlan\"`) {
		t.Fatalf("setup with vlan option: exit %d, stdout %s", res.code, res.stdout)
	}
	if nstest.LinkExists(t, network.NetworkInterface) {
		t.Fatal("refused setup left the bridge")
	}
	opts := in.Networks[name]
	delete(opts.Options, "vlan")
	in.Networks[name] = opts

	res = runNetavark(t, nv, "setup", ns, in, pluginDir)
	if res.code != 0 {
		t.Fatalf("setup: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	link, addrs := inNetns(t, ns, "eth0")
	if link == nil {
		t.Fatal("no eth0 in the container netns")
	}
	if link.Attrs().HardwareAddr.String() != "aa:bb:cc:dd:ee:01" || link.Attrs().MTU != 1400 {
		t.Errorf("eth0: MAC %s MTU %d, want aa:bb:cc:dd:ee:01 and the container's mtu option 1400", link.Attrs().HardwareAddr, link.Attrs().MTU)
	}
	for _, want := range []string{"10.89.0.5/24", "fd10:89::5/64"} {
		if !slices.Contains(addrs, netip.MustParsePrefix(want)) {
			t.Errorf("eth0 lacks %s: %v", want, addrs)
		}
	}
	if !hasRoute(t, ns, "192.168.77.0/24", "10.89.0.254") {
		t.Error("the network's route to 192.168.77.0/24 via 10.89.0.254 is missing")
	}
	if res := runNetavark(t, nv, "teardown", ns, in, pluginDir); res.code != 0 || res.stdout != "" {
		t.Errorf("teardown: exit %d, stdout %q", res.code, res.stdout)
	}
	if nstest.LinkExists(t, network.NetworkInterface) {
		t.Error("bridge left after teardown")
	}
}

// hasRoute reports whether the netns at path routes dst via gw.
func hasRoute(t testing.TB, path, dst, gw string) bool {
	t.Helper()
	h := nstest.Handle(t, path)
	routes, err := h.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Dst != nil && r.Dst.String() == dst && r.Gw.String() == gw {
			return true
		}
	}
	return false
}
