package netavark

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/firewall"
	"example.com/demo/internal/protocol"
)

func TestCreate(t *testing.T) {
	in := decodeNetwork(t, basic)
	out, err := NewPlugin("test").Create(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if out.Name != in.Name || out.ID != in.ID || out.Driver != in.Driver {
		t.Errorf("create changed name, id or driver: %+v", out)
	}
	if out.DNSEnabled {
		t.Error("create kept dns_enabled: plugins get no aardvark-dns")
	}
	if out.NetworkInterface != "br-basic" {
		t.Errorf("bridge %q, want br-basic", out.NetworkInterface)
	}
	if string(out.Extra["x_future"]) != `{"a":1}` {
		t.Errorf("create dropped an unknown key: %v", out.Extra)
	}
	if out.Subnets[0].Subnet.String() != "10.91.0.0/24" || out.Options["mtu"] != "1400" {
		t.Errorf("create changed fields it does not own: %+v", out)
	}
}

// TestCreateFillsGateways checks that every subnet comes back with a
// gateway, internal networks' too, which podman leaves without.
func TestCreateFillsGateways(t *testing.T) {
	in := decodeNetwork(t, `{"name":"n","id":"i","driver":"d","internal":true,"subnets":[{"subnet":"10.1.0.0/24"},
		{"subnet":"fd01::/64","gateway":"fd01::fe"},{"subnet":"10.2.0.8/31"}]}`)
	out, err := NewPlugin("test").Create(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range out.Subnets {
		got = append(got, s.Gateway.String())
	}
	if want := []string{"10.1.0.1", "fd01::fe", "invalid IP"}; !slices.Equal(got, want) {
		t.Errorf("gateways %v, want %v", got, want)
	}
}

func TestBridgeName(t *testing.T) {
	tests := []struct {
		network protocol.Network
		want    string
	}{
		{protocol.Network{Name: "net"}, "br-net"},
		{protocol.Network{Name: "n", NetworkInterface: "mybr0"}, "mybr0"},
		{protocol.Network{Name: "n", Options: map[string]string{driver.OptBridge: "br7"}}, "br7"},
		{protocol.Network{Name: "a-network-with-a-long-name"}, ""},
		{protocol.Network{Name: "with space"}, ""},
	}
	for _, tt := range tests {
		got, err := bridgeName(tt.network, driver.Settings{Bridge: tt.network.Options[driver.OptBridge]})
		if err != nil {
			t.Fatalf("%+v: %v", tt.network, err)
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("%+v: bridge %q, want %q", tt.network, got, tt.want)
		}
		if dataplane.ValidateIfName("bridge", got) != nil || tt.want == "" && !strings.HasPrefix(got, "br-") {
			t.Errorf("%+v: bad derived name %q", tt.network, got)
		}
	}
	long1, _ := bridgeName(protocol.Network{Name: "a-network-with-a-long-name-1"}, driver.Settings{})
	long2, _ := bridgeName(protocol.Network{Name: "a-network-with-a-long-name-2"}, driver.Settings{})
	if long1 == long2 {
		t.Errorf("two long network names share bridge %s", long1)
	}
}

// TestCreateRefuses checks that bad networks get a clear error from create.
func TestCreateRefuses(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown option", `{"name":"n","id":"i","driver":"d","options":{"colour":"red"}}`, `unknown network option "colour" (known: bridge, mtu, metric, isolate, firewall)`},
		{"bad mtu", `{"name":"n","id":"i","driver":"d","options":{"mtu":"9x"}}`, `invalid mtu "9x"`},
		{"tiny mtu", `{"name":"n","id":"i","driver":"d","options":{"mtu":"10"}}`, `invalid mtu "10"`},
		{"long bridge", `{"name":"n","id":"i","driver":"d","options":{"bridge":"a-very-long-bridge"}}`, "longer than 15"},
		{"bridge with slash", `{"name":"n","id":"i","driver":"d","network_interface":"a/b"}`, "contains '/'"},
		{"bridge clash", `{"name":"n","id":"i","driver":"d","network_interface":"a","options":{"bridge":"b"}}`, "differs"},
		{"gateway outside", `{"name":"n","id":"i","driver":"d","subnets":[{"subnet":"10.1.0.0/24","gateway":"10.2.0.1"}]}`, "gateway 10.2.0.1 is outside its subnet 10.1.0.0/24"},
		{"subnet without a range", `{"name":"n","id":"i","driver":"d","subnets":[{"gateway":"10.1.0.1"}]}`, `subnet without a "subnet" range`},
		{"overlapping subnets", `{"name":"n","id":"i","driver":"d","subnets":[{"subnet":"10.1.0.0/16"},{"subnet":"10.1.2.0/24"}]}`, "overlaps"},
		{"dhcp", `{"name":"n","id":"i","driver":"d","ipam_options":{"driver":"dhcp"}}`, `ipam driver "dhcp" is not supported`},
		{"blackhole route", `{"name":"n","id":"i","driver":"d","routes":[{"destination":"10.9.0.0/16","route_type":"blackhole"}]}`, `route type "blackhole"`},
		{"route without gateway", `{"name":"n","id":"i","driver":"d","routes":[{"destination":"10.9.0.0/16"}]}`, "no gateway"},
		{"route of mixed families", `{"name":"n","id":"i","driver":"d","routes":[{"destination":"10.9.0.0/16","gateway":"fd00::1"}]}`, "other IP version"},
		{"no subnet", `{"name":"n","id":"i","driver":"d"}`, "network has no subnet"},
		{"bridge that is no bridge", `{"name":"n","id":"i","driver":"d","subnets":[{"subnet":"10.1.0.0/24"}],"options":{"bridge":"lo"}}`,
			"lo exists and is not a bridge (its type is device)"},
		{"bad isolate", `{"name":"n","id":"i","driver":"d","options":{"isolate":"yes"}}`, `network option isolate "yes": want true, strict or false`},
		{"bad firewall", `{"name":"n","id":"i","driver":"d","options":{"firewall":"iptables"}}`, `invalid firewall "iptables": want nftables or none`},
		{"bad metric", `{"name":"n","id":"i","driver":"d","options":{"metric":"-1"}}`, `invalid metric "-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPlugin("test").Create(context.Background(), decodeNetwork(t, tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// request returns a setup request on the basic network for a container with
// the given addresses.
func request(t *testing.T, ips ...string) protocol.NetworkPluginExec {
	t.Helper()
	req := protocol.NetworkPluginExec{
		ContainerID:    "c1",
		ContainerName:  "web",
		Network:        decodeNetwork(t, basic),
		NetworkOptions: protocol.PerNetworkOptions{InterfaceName: "eth0"},
	}
	for _, ip := range ips {
		req.NetworkOptions.StaticIPs = append(req.NetworkOptions.StaticIPs, netip.MustParseAddr(ip))
	}
	return req
}

func TestAttachment(t *testing.T) {
	req := request(t, "10.91.0.5")
	req.Network.Routes = []protocol.Route{route(t, "192.168.7.0/24", "10.91.0.254")}
	n, err := parseNetwork(req.Network)
	if err != nil {
		t.Fatal(err)
	}
	c, err := container(n, "/run/netns/x", req)
	if err != nil {
		t.Fatal(err)
	}
	att := c.Link
	if att.IfName != "eth0" || att.NetnsPath != "/run/netns/x" || att.MTU != 1400 || !dataplane.IsHostIfName(att.HostIfName) {
		t.Errorf("attachment %+v", att)
	}
	if len(att.Addresses) != 1 || att.Addresses[0].String() != "10.91.0.5/24" {
		t.Errorf("addresses %v, want [10.91.0.5/24]", att.Addresses)
	}
	if len(att.Routes) != 2 || att.Routes[0].Destination.String() != "0.0.0.0/0" || att.Routes[0].Gateway.String() != "10.91.0.1" ||
		att.Routes[1].Destination.String() != "192.168.7.0/24" {
		t.Errorf("routes %+v, want the default route and the network's", att.Routes)
	}
	if again, _ := container(n, "/run/netns/x", req); again.Link.HostIfName != att.HostIfName {
		t.Error("host interface name is not stable: teardown could not find it")
	}
	if det := detachment(n, "/run/netns/x", req).Link; det.HostIfName != att.HostIfName || det.IfName != "eth0" ||
		!slices.Equal(det.Addresses, att.Addresses) {
		t.Errorf("detachment %+v does not name the attachment's interfaces and addresses", det)
	}
	if att.Routes[0].Metric != driver.DefaultMetric {
		t.Errorf("default route metric %d, want %d", att.Routes[0].Metric, driver.DefaultMetric)
	}
	req.Network.Options["metric"] = "50"
	n, _ = parseNetwork(req.Network)
	if c, _ := container(n, "/run/netns/x", req); c.Link.Routes[0].Metric != 50 {
		t.Errorf("default route metric %d, want the option's 50", c.Link.Routes[0].Metric)
	}

	req.Network.Internal = true
	n, _ = parseNetwork(req.Network)
	if c, _ := container(n, "/run/netns/x", req); len(c.Link.Routes) != 1 {
		t.Errorf("internal network: routes %+v, want no default route", c.Link.Routes)
	}
}

// TestContainerPorts checks the translation of port_mappings for the
// firewall, and that the network's options reach it.
func TestContainerPorts(t *testing.T) {
	req := request(t, "10.91.0.5")
	req.Network.Options["isolate"] = "strict"
	req.PortMappings = []protocol.PortMapping{
		{HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp,udp"},
		{HostIP: "127.0.0.1", HostPort: 9000, ContainerPort: 9000, Range: 3, Protocol: "sctp"},
	}
	n, err := parseNetwork(req.Network)
	if err != nil {
		t.Fatal(err)
	}
	if !n.Firewall || n.Isolate != firewall.IsolateStrict || n.Bridge.Name != "br-basic" ||
		!slices.Equal(n.Subnets, []driver.Subnet{{Prefix: netip.MustParsePrefix("10.91.0.0/24"), Gateway: netip.MustParseAddr("10.91.0.1")}}) {
		t.Errorf("network %+v", n.Network)
	}
	c, err := container(n, "/run/netns/x", req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.Ports {
		got = append(got, p.String())
	}
	if want := []string{"8080/tcp", "8080/udp", "127.0.0.1:9000-9002/sctp"}; !slices.Equal(got, want) {
		t.Errorf("ports %v, want %v", got, want)
	}
	if c.ID != req.ContainerID || c.Name != req.ContainerName {
		t.Errorf("container %+v", c)
	}

	req.PortMappings[0].HostIP = "fd00::1"
	if _, err := container(n, "/run/netns/x", req); err == nil || !strings.Contains(err.Error(), "host_ip fd00::1 is an IPv6 address, and network basic has no IPv6 subnet") {
		t.Errorf("IPv6 host_ip on an IPv4 network: %v", err)
	}
	req.Network.Options["firewall"] = "none"
	n, _ = parseNetwork(req.Network)
	if _, err := container(n, "/run/netns/x", req); err == nil || !strings.Contains(err.Error(), "firewall=none") {
		t.Errorf("ports on a firewall=none network: %v, want them refused", err)
	}
	req.PortMappings = nil
	if _, err := container(n, "/run/netns/x", req); err != nil {
		t.Errorf("firewall=none without ports: %v", err)
	}
}

// route returns a unicast route to dst via gw.
func route(t *testing.T, dst, gw string) protocol.Route {
	t.Helper()
	n, err := protocol.ParseIPNet(dst)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.Route{Destination: n, Gateway: netip.MustParseAddr(gw)}
}

// TestSetupRefuses checks that hostile container settings are refused before
// any system call: these run without root and would fail otherwise.
func TestSetupRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*protocol.NetworkPluginExec)
		want string
	}{
		{"no static ips", func(r *protocol.NetworkPluginExec) { r.NetworkOptions.StaticIPs = nil }, "no static_ips"},
		{"ip outside the subnets", func(r *protocol.NetworkPluginExec) {
			r.NetworkOptions.StaticIPs = []netip.Addr{netip.MustParseAddr("10.92.0.5")}
		}, "static ip 10.92.0.5 is outside every subnet"},
		{"two ips in a subnet", func(r *protocol.NetworkPluginExec) {
			r.NetworkOptions.StaticIPs = append(r.NetworkOptions.StaticIPs, netip.MustParseAddr("10.91.0.6"))
		}, "two static ips"},
		{"ip is the gateway", func(r *protocol.NetworkPluginExec) {
			r.NetworkOptions.StaticIPs = []netip.Addr{netip.MustParseAddr("10.91.0.1")}
		}, "is the gateway"},
		{"long interface name", func(r *protocol.NetworkPluginExec) { r.NetworkOptions.InterfaceName = "eth0-is-too-long" }, "longer than 15"},
		{"interface name with slash", func(r *protocol.NetworkPluginExec) { r.NetworkOptions.InterfaceName = "eth/0" }, "contains '/'"},
		{"empty interface name", func(r *protocol.NetworkPluginExec) { r.NetworkOptions.InterfaceName = "" }, "empty container interface name"},
		{"unknown container option", func(r *protocol.NetworkPluginExec) {
			r.NetworkOptions.Options = map[string]string{"vlan": "12"}
		}, `unknown container option "vlan" (known: mtu)`},
		{"route gateway off-link", func(r *protocol.NetworkPluginExec) {
			r.Network.Routes = []protocol.Route{route(t, "192.168.7.0/24", "10.99.0.1")}
		}, "not in a subnet of the container"},
		{"bad network", func(r *protocol.NetworkPluginExec) { r.Network.Options = map[string]string{"x": "y"} }, "unknown network option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(t, "10.91.0.5")
			tt.edit(&req)
			d := NewPlugin("test")
			d.Driver.LockDir = t.TempDir()
			_, err := d.Setup(context.Background(), "/run/netns/does-not-matter", req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// FuzzValidate runs the driver's validation, which runs before any system
// call, on arbitrary requests: it must never panic, and a network that create
// accepts must come back with its name, id and driver, and encode.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(basic), []byte(`{"interface_name":"eth0","static_ips":["10.91.0.5"],"static_mac":"aa:bb:cc:dd:ee:01"}`))
	f.Add([]byte(`{"name":"n","id":"i","driver":"d","subnets":[{"subnet":"fd00::/64","gateway":"fd00::1"}],
		"routes":[{"destination":"fd01::/64","gateway":"fd00::fe","metric":5}]}`), []byte(`{"interface_name":"eth1","static_ips":["fd00::5"]}`))
	f.Fuzz(func(t *testing.T, networkDoc, optionsDoc []byte) {
		var req protocol.NetworkPluginExec
		if json.Unmarshal(networkDoc, &req.Network) != nil || json.Unmarshal(optionsDoc, &req.NetworkOptions) != nil {
			return
		}
		out, err := NewPlugin("fuzz").Create(context.Background(), req.Network)
		if err != nil {
			return
		}
		if out.Name != req.Network.Name || out.ID != req.Network.ID || out.Driver != req.Network.Driver {
			t.Fatalf("create changed the network's identity: %+v", out)
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("create's answer does not encode: %v", err)
		}
		n, err := parseNetwork(req.Network)
		if err != nil {
			t.Fatalf("create accepted a network that setup refuses: %v", err)
		}
		_, _ = container(n, "/run/netns/fuzz", req)
	})
}
