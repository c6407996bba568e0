package driver

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/firewall"
	"example.com/demo/internal/nstest"
)

func TestParseSettings(t *testing.T) {
	all := []string{OptBridge, OptMTU, OptMetric, OptIsolate, OptFirewall}
	s, err := ParseSettings(map[string]string{OptBridge: "br7", OptMTU: "1400", OptMetric: "50", OptIsolate: "strict", OptFirewall: "none"}, all...)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Settings{Bridge: "br7", MTU: 1400, Metric: 50, Isolate: firewall.IsolateStrict}); s != want {
		t.Errorf("settings %+v, want %+v", s, want)
	}
	if s, err := ParseSettings(nil, all...); err != nil || s != (Settings{Metric: DefaultMetric, Firewall: true}) {
		t.Errorf("defaults %+v, %v", s, err)
	}
	for _, tt := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"colour": "red"}, `unknown network option "colour" (known: bridge, mtu, metric, isolate, firewall)`},
		{map[string]string{OptMTU: "10"}, `invalid mtu "10"`},
		{map[string]string{OptMetric: "-1"}, `invalid metric "-1"`},
		{map[string]string{OptIsolate: "yes"}, `network option isolate "yes"`},
		{map[string]string{OptFirewall: "iptables"}, `invalid firewall "iptables"`},
		{map[string]string{OptBridge: "a-very-long-bridge"}, "longer than 15"},
	} {
		if _, err := ParseSettings(tt.opts, all...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want one containing %q", tt.opts, err, tt.want)
		}
	}
}

func TestNewNetwork(t *testing.T) {
	sub := func(p, gw string) Subnet {
		s := Subnet{Prefix: netip.MustParsePrefix(p)}
		if gw != "" {
			s.Gateway = netip.MustParseAddr(gw)
		}
		return s
	}
	n, err := NewNetwork("n", Settings{MTU: 1400}, "br-n", []Subnet{sub("10.1.0.7/24", "10.1.0.1"), sub("fd01::/64", "")}, true)
	if err != nil {
		t.Fatal(err)
	}
	if n.Bridge.Name != "br-n" || n.Bridge.MTU != 1400 || n.Bridge.Owner != Name || !n.Bridge.Internal ||
		len(n.Bridge.Gateways) != 1 || n.Bridge.Gateways[0] != netip.MustParsePrefix("10.1.0.1/24") {
		t.Errorf("bridge %+v", n.Bridge)
	}
	if n.Subnets[0].Prefix.String() != "10.1.0.0/24" || n.Subnet(netip.MustParseAddr("fd01::5")) != 1 || n.Subnet(netip.MustParseAddr("10.2.0.1")) != -1 {
		t.Errorf("subnets %+v", n.Subnets)
	}
	for _, tt := range []struct {
		subnets []Subnet
		bridge  string
		want    string
	}{
		{[]Subnet{sub("10.1.0.0/16", ""), sub("10.1.2.0/24", "")}, "br-n", "overlaps"},
		{[]Subnet{sub("10.1.0.0/24", "10.2.0.1")}, "br-n", "gateway 10.2.0.1 is outside its subnet 10.1.0.0/24"},
		{[]Subnet{{}}, "br-n", `subnet without a "subnet" range`},
		{nil, "a/b", "contains '/'"},
	} {
		if _, err := NewNetwork("n", Settings{}, tt.bridge, tt.subnets, false); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v on %s: error %v, want one containing %q", tt.subnets, tt.bridge, err, tt.want)
		}
	}
}

func TestDefaultBridge(t *testing.T) {
	if got := DefaultBridge("net"); got != "br-net" {
		t.Errorf("DefaultBridge(net) = %q", got)
	}
	a, b := DefaultBridge("a-network-with-a-long-name-1"), DefaultBridge("a-network-with-a-long-name-2")
	for _, name := range []string{a, b, DefaultBridge("with space")} {
		if err := dataplane.ValidateIfName("bridge", name); err != nil || !strings.HasPrefix(name, "br-") {
			t.Errorf("DefaultBridge gave %q: %v", name, err)
		}
	}
	if a == b {
		t.Errorf("two long network names share bridge %s", a)
	}
}

func TestPublishedPorts(t *testing.T) {
	mappings := []firewall.PortMapping{{HostPort: 8080, ContainerPort: 80}}
	n, _ := NewNetwork("n", Settings{Firewall: true}, "br-n", []Subnet{{Prefix: netip.MustParsePrefix("10.1.0.0/24")}}, false)
	if ports, err := n.PublishedPorts(mappings, firewall.NetavarkFields); err != nil || len(ports) != 1 {
		t.Errorf("ports %v, %v", ports, err)
	}
	n.Firewall = false
	if _, err := n.PublishedPorts(mappings, firewall.NetavarkFields); err == nil || !strings.Contains(err.Error(), "network n has firewall=none") {
		t.Errorf("firewall=none: %v, want the ports refused", err)
	}
	if ports, err := n.PublishedPorts(nil, firewall.NetavarkFields); err != nil || ports != nil {
		t.Errorf("firewall=none without ports: %v, %v", ports, err)
	}
}

// TestAttachRollsBackFirewall attaches a container whose firewall step
// fails, as when another container publishes its port: its links go again,
// and so do the bridge made for it and the bridge's lock file, while the
// first container stays as it was.
func TestAttachRollsBackFirewall(t *testing.T) {
	nstest.RequireRoot(t)
	d := New(t.TempDir())
	d.Firewall.Table = nstest.UniqueName("drv")
	net1, _ := NewNetwork("one", Settings{Firewall: true}, nstest.UniqueName("drv"),
		[]Subnet{{Prefix: netip.MustParsePrefix("198.18.0.0/24"), Gateway: netip.MustParseAddr("198.18.0.1")}}, false)
	net2, _ := NewNetwork("two", Settings{Firewall: true}, nstest.UniqueName("drv"),
		[]Subnet{{Prefix: netip.MustParsePrefix("198.18.1.0/24"), Gateway: netip.MustParseAddr("198.18.1.1")}}, false)
	port := []firewall.Port{{Protocol: firewall.TCP, HostPort: 8080, ContainerPort: 80, Range: 1}}
	ctr := func(n Network, id, addr string) Container {
		return Container{ID: id, Name: id, Ports: port, Link: dataplane.Attachment{
			NetnsPath: nstest.NewNetns(t), IfName: "eth0", HostIfName: dataplane.HostIfName(id),
			Addresses: []netip.Prefix{netip.MustParsePrefix(addr)},
		}}
	}
	first, second := ctr(net1, "first", "198.18.0.2/24"), ctr(net2, "second", "198.18.1.2/24")
	if _, err := d.Attach(net1, first); err != nil {
		t.Fatal(err)
	}
	_, err := d.Attach(net2, second)
	if !errors.Is(err, firewall.ErrPortPublished) {
		t.Fatalf("Attach of a port that another container publishes: %v", err)
	}
	for _, name := range []string{second.Link.HostIfName, net2.Bridge.Name} {
		if nstest.LinkExists(t, name) {
			t.Errorf("%s left after the failed Attach", name)
		}
	}
	if _, err := os.Stat(filepath.Join(d.LockDir, net2.Bridge.Name+".lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file of the removed bridge left: %v", err)
	}
	if !nstest.LinkExists(t, first.Link.HostIfName) {
		t.Error("the first container lost its link")
	}
	for _, c := range []struct {
		n Network
		c Container
	}{{net2, second}, {net1, first}} {
		if err := d.Detach(c.n, c.c); err != nil {
			t.Error(err)
		}
	}
	if nstest.LinkExists(t, net1.Bridge.Name) {
		t.Error("bridge left after the last container")
	}
}
