package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"

	"example.com/demo/internal/nstest"
	"example.com/demo/internal/protocol"
)

// The firewall tests build, in network namespaces, a host (where netavark
// and the plugin run, as podman would run them) with an outside network
// behind a veth, and check by real connections what netavark's own bridge
// with its nftables firewall gives its containers: published ports from
// outside, from the host and from containers (hairpin), outbound NAT,
// internal networks and isolation. Servers answer each client with the
// address they see it from, so every check also tells who NATed what.

// Addresses of the world, nstest.NewOutside's.
const (
	hostV4    = nstest.HostV4
	outV4     = nstest.OutsideV4
	hostV6    = nstest.HostV6
	outV6     = nstest.OutsideV6
	otherV4   = nstest.OtherV4
	outPort   = 5000 // the outside's server
	probeWait = 700 * time.Millisecond
)

// world is a host, the outside, and the networks and containers a scenario
// made on the host.
type world struct {
	nv        string
	host, out string
	// driver and env choose netavark's bridge (with NETAVARK_FW) or the
	// plugin for every network of the world.
	driver string
	env    []string
	// names are what the checks call the addresses they may see.
	names map[string]string
	// attached are the containers set up, for teardown.
	attached []attached
	// lock is podman's lock around netavark, which its bridge needs.
	lock string
}

type attached struct {
	ns string
	in protocol.NetavarkOptions
}

func newWorld(t *testing.T, driverName string, env ...string) *world {
	t.Helper()
	host := nstest.NewNetns(t)
	w := &world{
		nv:     nstest.Netavark(t),
		host:   host,
		out:    nstest.NewOutside(t, host),
		driver: driverName,
		env:    env,
		names:  map[string]string{hostV4: "host", hostV6: "host", outV4: "outside", outV6: "outside"},
		lock:   filepath.Join(t.TempDir(), "netavark.lock"),
	}
	nstest.Serve(t, w.out, "tcp", outPort)
	return w
}

// network is a network of the world's driver with a bridge of its own, on
// an IPv4 and an IPv6 subnet numbered n, with netavark's options.
func (w *world) network(t *testing.T, name string, n int, internal bool, options map[string]string) protocol.Network {
	t.Helper()
	net := protocol.Network{
		Name:             name,
		ID:               fmt.Sprintf("%064x", n),
		Driver:           w.driver,
		NetworkInterface: fmt.Sprintf("fwt-%s", name),
		Internal:         internal,
		IPv6Enabled:      true,
		Options:          options,
	}
	for _, s := range []string{fmt.Sprintf("10.%d.0.0/24", 60+n), fmt.Sprintf("fd%02x::/64", 60+n)} {
		p := netip.MustParsePrefix(s)
		gw := p.Addr().Next()
		net.Subnets = append(net.Subnets, protocol.Subnet{Subnet: protocol.IPNet{Prefix: p}, Gateway: gw})
		w.names[gw.String()] = "gateway"
	}
	return net
}

// run starts a container on network with the address number host in
// each subnet, its ports published, and servers on every port a check
// reaches it on; it returns the container's netns.
func (w *world) run(t *testing.T, name string, network protocol.Network, host int, ports ...protocol.PortMapping) string {
	t.Helper()
	ns := nstest.NewNetns(t)
	opts := protocol.PerNetworkOptions{InterfaceName: "eth0"}
	for _, s := range network.Subnets {
		a := s.Subnet.Addr()
		for range host {
			a = a.Next()
		}
		opts.StaticIPs = append(opts.StaticIPs, a)
		w.names[a.String()] = name
	}
	in := protocol.NetavarkOptions{
		ContainerID:   fmt.Sprintf("%02x%062x", len(w.attached)+1, 0),
		ContainerName: name,
		PortMappings:  ports,
		Networks:      map[string]protocol.PerNetworkOptions{network.Name: opts},
		NetworkInfo:   map[string]protocol.Network{network.Name: network},
	}
	if res := w.netavark(t, "setup", ns, in); res.code != 0 {
		t.Fatalf("setup %s: exit %d\n%s%s", name, res.code, res.stdout, res.stderr)
	}
	w.attached = append(w.attached, attached{ns, in})
	serverPorts := []int{80}
	for _, p := range ports {
		for i := range int(max(p.Range, 1)) {
			if !slices.Contains(serverPorts, int(p.ContainerPort)+i) {
				serverPorts = append(serverPorts, int(p.ContainerPort)+i)
			}
		}
	}
	nstest.Serve(t, ns, "tcp", serverPorts...)
	nstest.Serve(t, ns, "udp", serverPorts...)
	return ns
}

// teardown tears every container down, newest first.
func (w *world) teardown(t *testing.T) {
	t.Helper()
	for _, a := range slices.Backward(w.attached) {
		if res := w.netavark(t, "teardown", a.ns, a.in); res.code != 0 {
			t.Errorf("teardown %s: exit %d\n%s%s", a.in.ContainerName, res.code, res.stdout, res.stderr)
		}
	}
	w.attached = nil
}

// netavark runs netavark in the world's host, as podman would: with
// podman's lock, which the built-in bridge relies on.
func (w *world) netavark(t testing.TB, cmd, ns string, in protocol.NetavarkOptions) result {
	t.Helper()
	args := []string{"--net=" + w.host, "--"}
	if w.lock != "" {
		args = append(args, "flock", w.lock)
	}
	args = append(args, w.nv, "--config", t.TempDir(), "--plugin-directory", pluginDir, cmd, ns)
	return runCommand(t, exec.Command("nsenter", args...), in, w.env...)
}

// probe connects from ns to addr and names who answered: the name of the
// address the server saw, or "unreachable".
func (w *world) probe(t *testing.T, ns, network, addr string) string {
	t.Helper()
	peer, err := nstest.Probe(ns, network, addr, probeWait)
	if errors.Is(err, nstest.ErrUnreachable) {
		return "unreachable"
	}
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := w.names[peer]; ok {
		return name
	}
	return peer
}

// scenario builds the same networks and containers with the world's
// driver, runs every check, tears down and checks again, and returns what
// each check saw.
func scenario(t *testing.T, w *world) map[string]string {
	seen := make(map[string]string)
	check := func(name, ns, network, addr string) {
		seen[name] = w.probe(t, ns, network, addr)
	}
	a := w.network(t, "a", 1, false, nil)
	internal := w.network(t, "i", 2, true, nil)
	t1 := w.network(t, "t1", 3, false, map[string]string{"isolate": "true"})
	t2 := w.network(t, "t2", 4, false, map[string]string{"isolate": "true"})
	strict := w.network(t, "s", 5, false, map[string]string{"isolate": "strict"})

	a1 := w.run(t, "a1", a, 2,
		protocol.PortMapping{HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"},
		protocol.PortMapping{HostPort: 8081, ContainerPort: 81, Range: 1, Protocol: "udp"},
		protocol.PortMapping{HostPort: 9000, ContainerPort: 7000, Range: 3, Protocol: "tcp"},
		protocol.PortMapping{HostIP: hostV4, HostPort: 8082, ContainerPort: 82, Range: 1, Protocol: "tcp"},
		protocol.PortMapping{HostIP: "::", HostPort: 8083, ContainerPort: 83, Range: 1, Protocol: "tcp"},
		protocol.PortMapping{HostIP: "0.0.0.0", HostPort: 8084, ContainerPort: 84, Range: 1, Protocol: "tcp"},
	)
	a2 := w.run(t, "a2", a, 3)
	i1 := w.run(t, "i1", internal, 2)
	t1c := w.run(t, "t1c", t1, 2)
	w.run(t, "t2c", t2, 2, protocol.PortMapping{HostPort: 8090, ContainerPort: 80, Range: 1, Protocol: "tcp"})
	sc := w.run(t, "sc", strict, 2)
	addr := func(n protocol.Network, host int) string {
		a := n.Subnets[0].Subnet.Addr()
		for range host {
			a = a.Next()
		}
		return a.String()
	}
	hostPort := func(host string, port int) string {
		return netip.AddrPortFrom(netip.MustParseAddr(host), uint16(port)).String()
	}

	// Published ports, from outside.
	check("outside to 8080/tcp, IPv4", w.out, "tcp", hostPort(hostV4, 8080))
	check("outside to 8080/tcp, IPv6", w.out, "tcp", hostPort(hostV6, 8080))
	check("outside to 8081/udp, IPv4", w.out, "udp", hostPort(hostV4, 8081))
	check("outside to 8081/udp, IPv6", w.out, "udp", hostPort(hostV6, 8081))
	for port := 9000; port <= 9002; port++ {
		check(fmt.Sprintf("outside to range port %d", port), w.out, "tcp", hostPort(hostV4, port))
	}
	check("outside to 8082 on its host_ip", w.out, "tcp", hostPort(hostV4, 8082))
	check("outside to 8082 on another host address", w.out, "tcp", hostPort(otherV4, 8082))
	check("outside to 8083 (host_ip ::), IPv6", w.out, "tcp", hostPort(hostV6, 8083))
	check("outside to 8083 (host_ip ::), IPv4", w.out, "tcp", hostPort(hostV4, 8083))
	check("outside to 8084 (host_ip 0.0.0.0), IPv4", w.out, "tcp", hostPort(hostV4, 8084))
	check("outside to 8084 (host_ip 0.0.0.0), IPv6", w.out, "tcp", hostPort(hostV6, 8084))

	// From the host, and from containers through the host (hairpin).
	check("host to 127.0.0.1:8080", w.host, "tcp", "127.0.0.1:8080")
	check("host to its own address:8080", w.host, "tcp", hostPort(hostV4, 8080))
	check("other container of the network to host:8080", a2, "tcp", hostPort(hostV4, 8080))
	check("the container to its own port via host", a1, "tcp", hostPort(hostV4, 8080))
	check("the container to its own port via gateway", a1, "tcp", hostPort(addr(a, 1), 8080))
	check("container of another network to host:8080", t1c, "tcp", hostPort(hostV4, 8080))

	// Outbound.
	check("container to outside, IPv4", a1, "tcp", hostPort(outV4, outPort))
	check("container to outside, IPv6", a1, "tcp", hostPort(outV6, outPort))
	check("internal container to outside", i1, "tcp", hostPort(outV4, outPort))
	check("host to internal container", w.host, "tcp", hostPort(addr(internal, 2), 80))

	// Isolation, container to container by address.
	check("isolate=true to isolate=true", t1c, "tcp", hostPort(addr(t2, 2), 80))
	check("isolate=true to not isolated", t1c, "tcp", hostPort(addr(a, 2), 80))
	check("not isolated to isolate=true", a1, "tcp", hostPort(addr(t1, 2), 80))
	check("isolate=strict to not isolated", sc, "tcp", hostPort(addr(a, 2), 80))
	check("not isolated to isolate=strict", a1, "tcp", hostPort(addr(strict, 2), 80))
	check("isolate=true to a published port of isolate=true", t1c, "tcp", hostPort(hostV4, 8090))

	w.teardown(t)
	check("outside to 8080/tcp after teardown", w.out, "tcp", hostPort(hostV4, 8080))
	return seen
}

// want is what each check of scenario sees with the plugin.
var want = map[string]string{
	"outside to 8080/tcp, IPv4":                        "outside",
	"outside to 8080/tcp, IPv6":                        "outside",
	"outside to 8081/udp, IPv4":                        "outside",
	"outside to 8081/udp, IPv6":                        "outside",
	"outside to range port 9000":                       "outside",
	"outside to range port 9001":                       "outside",
	"outside to range port 9002":                       "outside",
	"outside to 8082 on its host_ip":                   "outside",
	"outside to 8082 on another host address":          "unreachable",
	"outside to 8083 (host_ip ::), IPv6":               "outside",
	"outside to 8083 (host_ip ::), IPv4":               "unreachable",
	"outside to 8084 (host_ip 0.0.0.0), IPv4":          "outside",
	"outside to 8084 (host_ip 0.0.0.0), IPv6":          "unreachable",
	"host to 127.0.0.1:8080":                           "gateway",
	"host to its own address:8080":                     "host",
	"other container of the network to host:8080":      "gateway",
	"the container to its own port via host":           "gateway",
	"the container to its own port via gateway":        "gateway",
	"container of another network to host:8080":        "gateway",
	"container to outside, IPv4":                       "host",
	"container to outside, IPv6":                       "host",
	"internal container to outside":                    "unreachable",
	"host to internal container":                       "gateway",
	"isolate=true to isolate=true":                     "unreachable",
	"isolate=true to not isolated":                     "gateway",
	"not isolated to isolate=true":                     "gateway",
	"isolate=strict to not isolated":                   "unreachable",
	"not isolated to isolate=strict":                   "unreachable",
	"isolate=true to a published port of isolate=true": "gateway",
	"outside to 8080/tcp after teardown":               "unreachable",
}

// differences are the checks where netavark's bridge is known to differ
// from the plugin, with why; any other difference fails TestFirewallParity.
var differences = map[string]string{
	// The test namespaces have br_netfilter's bridge-nf-call-iptables on,
	// as any host where Docker or Kubernetes loaded it: a container's
	// packets to its own published port are DNATed on the bridge and must
	// go back out of the port they came in on, which netavark's bridge
	// does not allow (hairpin mode off).
	"the container to its own port via host":    "netavark sets no hairpin mode",
	"the container to its own port via gateway": "netavark sets no hairpin mode",
	// netavark 2.1 added the conntrack mark that lets isolated networks
	// reach each other's published ports; before 2.1 they cannot.
	"isolate=true to a published port of isolate=true": "netavark before 2.1 drops it",
}

// TestFirewall runs the scenario with the plugin and checks what each
// check saw, then that the plugin left nothing in the host: no bridge, no
// table. It does so with br_netfilter's bridge-nf-call-iptables on, as on
// hosts where Docker or Kubernetes loaded it (and in any new namespace once
// it is loaded), and off.
func TestFirewall(t *testing.T) {
	for _, brnf := range []string{"1", "0"} {
		t.Run("bridge-nf-call-iptables="+brnf, func(t *testing.T) {
			w := newWorld(t, driver)
			setBridgeNetfilter(t, w.host, brnf)
			seen := scenario(t, w)
			for name, want := range want {
				if got := seen[name]; got != want {
					t.Errorf("%s: %s, want %s", name, got, want)
				}
			}
			checkHostClean(t, w.host)
		})
	}
}

// setBridgeNetfilter sets br_netfilter's bridge-nf-call-iptables and
// -ip6tables in the netns at path. Without br_netfilter there is nothing to
// set, and bridged traffic never passes the firewall: "0".
func setBridgeNetfilter(t *testing.T, path, value string) {
	t.Helper()
	nstest.Do(t, path, func() {
		for _, key := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables"} {
			err := os.WriteFile("/proc/sys/net/bridge/"+key, []byte(value), 0o644)
			if errors.Is(err, fs.ErrNotExist) && value == "0" {
				continue
			}
			if err != nil {
				nstest.SkipOrFail(t, fmt.Sprintf("set %s: %v (br_netfilter: modprobe br_netfilter)", key, err))
			}
		}
	})
}

// TestFirewallParity runs the same scenario with netavark's own bridge and
// its nftables firewall, and fails on any difference from the plugin's
// results but the documented ones.
func TestFirewallParity(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		nstest.SkipOrFail(t, "netavark's nftables firewall runs the nft binary: apt-get install nftables")
	}
	w := newWorld(t, "bridge", "NETAVARK_FW=nftables")
	seen := scenario(t, w)
	for name, want := range want {
		got := seen[name]
		why, documented := differences[name]
		switch {
		case documented:
			t.Logf("%s: netavark's bridge %s, the plugin %s (documented: %s)", name, got, want, why)
		case got != want && !documented:
			t.Errorf("%s: netavark's bridge %s, the plugin %s", name, got, want)
		}
	}
}

// checkHostClean fails the test if the host netns at path has a link of
// the plugin's or its table.
func checkHostClean(t *testing.T, path string) {
	t.Helper()
	links, err := nstest.Handle(t, path).LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "fwt-") || strings.HasPrefix(l.Attrs().Name, "veth") {
			t.Errorf("%s left in the host", l.Attrs().Name)
		}
	}
	nstest.Do(t, path, func() {
		conn, err := nftables.New()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ListTableOfFamily(driver, nftables.TableFamilyINet); err == nil {
			t.Errorf("table inet %s left in the host", driver)
		}
	})
}

// TestFirewallConcurrent sets up twenty containers on two networks at
// once, each publishing a port, without podman's lock (Docker and CNI
// runtimes take none): every port must answer, and tearing them all down
// at once must leave nothing.
func TestFirewallConcurrent(t *testing.T) {
	w := newWorld(t, driver)
	w.lock = "" // no podman lock
	nets := []protocol.Network{w.network(t, "c1", 11, false, nil), w.network(t, "c2", 12, false, nil)}
	const n = 20
	type ctr struct {
		ns string
		in protocol.NetavarkOptions
	}
	ctrs := make([]ctr, n)
	for i := range ctrs {
		network := nets[i%2]
		ip := network.Subnets[0].Subnet.Addr().As4()
		ip[3] = byte(10 + i)
		ctrs[i].ns = nstest.NewNetns(t)
		ctrs[i].in = container(network, netip.AddrFrom4(ip).String())
		ctrs[i].in.PortMappings = []protocol.PortMapping{{HostPort: uint16(10000 + i), ContainerPort: 80, Range: 1, Protocol: "tcp"}}
		nstest.Serve(t, ctrs[i].ns, "tcp", 80)
	}
	forEach := func(cmd string) {
		errs := make(chan error, n)
		for _, c := range ctrs {
			go func() {
				res := w.netavark(t, cmd, c.ns, c.in)
				if res.code != 0 {
					errs <- fmt.Errorf("%s %s: exit %d: %s%s", cmd, c.in.ContainerName, res.code, res.stdout, res.stderr)
					return
				}
				errs <- nil
			}()
		}
		for range ctrs {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	}
	forEach("setup")
	for i := range ctrs {
		if got := w.probe(t, w.out, "tcp", fmt.Sprintf("%s:%d", hostV4, 10000+i)); got != "outside" {
			t.Errorf("outside to port %d: %s, want outside", 10000+i, got)
		}
	}
	forEach("teardown")
	checkHostClean(t, w.host)
}

// TestFirewallRefusals checks the port mappings that setup refuses, through
// netavark: each is named in the error, and leaves nothing behind; a port
// that another container publishes is refused with that container's name,
// after the container's links were made, which are removed again.
func TestFirewallRefusals(t *testing.T) {
	w := newWorld(t, driver)
	a := w.network(t, "a", 21, false, nil)
	v4only := w.network(t, "v4", 22, false, nil)
	v4only.Subnets = v4only.Subnets[:1]
	w.run(t, "web", a, 2, protocol.PortMapping{HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"})
	tests := []struct {
		name    string
		network protocol.Network
		port    protocol.PortMapping
		want    string
	}{
		{"published by another container", a, protocol.PortMapping{HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"},
			"host port 8080/tcp on every IPv4 address is published by web on a (container 01"},
		{"protocol", a, protocol.PortMapping{HostPort: 8081, ContainerPort: 80, Range: 1, Protocol: "icmp"},
			`port_mappings[0].protocol: \"icmp\" is not tcp, udp or sctp`},
		{"host port 0", a, protocol.PortMapping{ContainerPort: 80, Range: 1, Protocol: "tcp"}, "port_mappings[0].host_port: 0 is not a port number"},
		{"range past 65535", a, protocol.PortMapping{HostPort: 65535, ContainerPort: 80, Range: 2, Protocol: "tcp"}, "port_mappings[0].range: 2 ports"},
		{"host_ip", a, protocol.PortMapping{HostIP: "nowhere", HostPort: 8081, ContainerPort: 80, Range: 1, Protocol: "tcp"},
			`port_mappings[0].host_ip: \"nowhere\" is not an IP address`},
		{"host_ip of a family the network lacks", v4only, protocol.PortMapping{HostIP: hostV6, HostPort: 8081, ContainerPort: 80, Range: 1, Protocol: "tcp"},
			"host_ip 2001:db8:2::1 is an IPv6 address, and network v4 has no IPv6 subnet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := nstest.NewNetns(t)
			in := container(tt.network, tt.network.Subnets[0].Subnet.Addr().Next().Next().Next().String())
			in.PortMappings = []protocol.PortMapping{tt.port}
			res := w.netavark(t, "setup", ns, in)
			if res.code != 1 || !strings.Contains(res.stdout, tt.want) {
				t.Errorf("setup: exit %d, stdout %s\nwant exit 1 and an error containing %q", res.code, res.stdout, tt.want)
			}
			if link, _ := inNetns(t, ns, "eth0"); link != nil {
				t.Error("the refused setup left eth0 in the container")
			}
			if res := w.netavark(t, "teardown", ns, in); res.code != 0 {
				t.Errorf("teardown after the refused setup: exit %d: %s", res.code, res.stdout)
			}
			if got := w.probe(t, w.out, "tcp", hostV4+":8080"); got != "outside" {
				t.Errorf("the first container's port after the refusal: %s, want outside", got)
			}
		})
	}
	w.teardown(t)
	checkHostClean(t, w.host)
}
