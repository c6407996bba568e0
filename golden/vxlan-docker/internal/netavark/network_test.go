package netavark

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/demo/internal/agent"
	"example.com/demo/internal/agentapi"
	"example.com/demo/internal/cluster"
	"example.com/demo/internal/config"
	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/etcdtest"
	"example.com/demo/internal/firewall"
	"example.com/demo/internal/protocol"
)

// useConfig points the plugin at a configuration file of cfg for the
// test.
func useConfig(t *testing.T, cfg config.Config) {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(config.PathEnv, path)
}

// withAgent starts an etcd, and an agent of host h1 on it that serves a
// socket, and points the plugin at them. It returns the etcd server.
func withAgent(t *testing.T) *etcdtest.Server {
	t.Helper()
	srv := etcdtest.Start(t, "127.0.0.1")
	cfg := config.Config{Etcd: config.Etcd{Endpoints: srv.Endpoints()}, Host: "h1", VTEP: netip.MustParseAddr("192.0.2.11"),
		LockDir: filepath.Join(t.TempDir(), "locks"), AgentSocket: filepath.Join(t.TempDir(), "agent.sock")}
	c, err := cluster.Open(context.Background(), agent.ClusterConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	a := &agent.Agent{Cluster: c, Host: cfg.Host, VTEP: cfg.VTEP, LockDir: cfg.LockDir, Socket: cfg.AgentSocket,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		c.Close()
		if _, err := os.Stat(cfg.AgentSocket); err == nil {
			t.Errorf("the agent left its socket %s", cfg.AgentSocket)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if fi, err := os.Stat(cfg.AgentSocket); err == nil {
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent does not serve after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	useConfig(t, cfg)
	return srv
}

// TestCreate creates networks in a real etcd: each gets a VNI of its own,
// its bridge is named after it, and podman is told to leave the addresses
// to the plugin.
func TestCreate(t *testing.T) {
	withAgent(t)
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
	vni := out.Options[agentapi.OptVNI]
	if vni == "" || out.NetworkInterface != "vxbr"+vni || out.IPAMOptions["driver"] != "none" {
		t.Errorf("create: vni %q, network interface %q, ipam %v; want a VNI, vxbr<VNI> and none", vni, out.NetworkInterface, out.IPAMOptions)
	}
	if string(out.Extra["x_future"]) != `{"a":1}` {
		t.Errorf("create dropped an unknown key: %v", out.Extra)
	}
	if out.Subnets[0].Subnet.String() != "10.91.0.0/24" || out.Options["mtu"] != "1400" {
		t.Errorf("create changed fields it does not own: %+v", out)
	}
	if _, err := parseSegment(out); err != nil {
		t.Errorf("setup refuses the network that create returned: %v", err)
	}

	again, err := NewPlugin("test").Create(context.Background(), in)
	if err != nil || again.Options[agentapi.OptVNI] != vni {
		t.Errorf("create again: vni %q, %v; want the same network, vni %s", again.Options[agentapi.OptVNI], err, vni)
	}
	other := decodeNetwork(t, `{"name":"other","id":"o","driver":"demo","subnets":[{"subnet":"10.92.0.0/24"},{"subnet":"fd92::/64"}],"options":{"vni":"77"}}`)
	out, err = NewPlugin("test").Create(context.Background(), other)
	if err != nil || out.Options[agentapi.OptVNI] != "77" || out.NetworkInterface != "vxbr77" {
		t.Fatalf("create with vni=77: %+v, %v", out, err)
	}
	var gateways []string
	for _, s := range out.Subnets {
		gateways = append(gateways, s.Gateway.String())
	}
	if want := []string{"10.92.0.1", "fd92::1"}; !slices.Equal(gateways, want) {
		t.Errorf("gateways %v, want %v", gateways, want)
	}

	overlap := decodeNetwork(t, `{"name":"overlap","id":"x","driver":"demo","subnets":[{"subnet":"10.91.0.128/25"}]}`)
	if _, err := NewPlugin("test").Create(context.Background(), overlap); err == nil || !strings.Contains(err.Error(), "basic") {
		t.Errorf("create of a network overlapping basic: %v, want an error naming basic", err)
	}
	taken := decodeNetwork(t, `{"name":"taken","id":"x","driver":"demo","subnets":[{"subnet":"10.93.0.0/24"}],"options":{"vni":"77"}}`)
	if _, err := NewPlugin("test").Create(context.Background(), taken); err == nil || !strings.Contains(err.Error(), "VNI") {
		t.Errorf("create with another network's VNI: %v", err)
	}
}

// TestCreateNeedsAgent checks that the plugin says what it needs when it
// has no configuration, no agent, or an agent whose etcd does not answer.
func TestCreateNeedsAgent(t *testing.T) {
	in := decodeNetwork(t, basic)
	t.Setenv(config.PathEnv, filepath.Join(t.TempDir(), "missing.json"))
	if _, err := NewPlugin("test").Create(context.Background(), in); err == nil || !strings.Contains(err.Error(), "no configuration at") {
		t.Errorf("create without a configuration: %v", err)
	}
	socket := filepath.Join(t.TempDir(), "agent.sock")
	useConfig(t, config.Config{VTEP: netip.MustParseAddr("192.0.2.11"), AgentSocket: socket})
	want := "no agent at " + socket + ": start demo-agent on this host"
	if _, err := NewPlugin("test").Create(context.Background(), in); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("create without an agent: %v, want %q", err, want)
	}
	srv := withAgent(t)
	endpoint := srv.Endpoints()[0]
	srv.Close()
	start := time.Now()
	if _, err := NewPlugin("test").Create(context.Background(), in); err == nil || !strings.Contains(err.Error(), endpoint+" is unreachable") {
		t.Errorf("create with etcd down: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("create with etcd down took %s", d)
	}
}

// TestCreateRefuses checks that bad networks get a clear error from create,
// before it reaches for etcd.
func TestCreateRefuses(t *testing.T) {
	t.Setenv(config.PathEnv, filepath.Join(t.TempDir(), "missing.json"))
	const subnet = `"subnets":[{"subnet":"10.1.0.0/24"}]`
	tests := []struct {
		name, doc, want string
	}{
		{"unknown option", `{"name":"n","id":"i","driver":"d",` + subnet + `,"options":{"colour":"red"}}`, `unknown network option "colour" (known: bridge, mtu, metric, isolate, firewall)`},
		{"bridge option", `{"name":"n","id":"i","driver":"d",` + subnet + `,"options":{"bridge":"br0"}}`, "option bridge is not supported"},
		{"bad vni", `{"name":"n","id":"i","driver":"d",` + subnet + `,"options":{"vni":"x"}}`, `invalid vni "x"`},
		{"vni too large", `{"name":"n","id":"i","driver":"d",` + subnet + `,"options":{"vni":"16777216"}}`, `invalid vni "16777216"`},
		{"vni zero", `{"name":"n","id":"i","driver":"d",` + subnet + `,"options":{"vni":"0"}}`, `invalid vni "0"`},
		{"bad mtu", `{"name":"n","id":"i","driver":"d",` + subnet + `,"options":{"mtu":"9x"}}`, `invalid mtu "9x"`},
		{"gateway outside", `{"name":"n","id":"i","driver":"d","subnets":[{"subnet":"10.1.0.0/24","gateway":"10.2.0.1"}]}`, "gateway 10.2.0.1 is outside its subnet 10.1.0.0/24"},
		{"overlapping subnets", `{"name":"n","id":"i","driver":"d","subnets":[{"subnet":"10.1.0.0/16"},{"subnet":"10.1.2.0/24"}]}`, "overlaps"},
		{"dhcp", `{"name":"n","id":"i","driver":"d",` + subnet + `,"ipam_options":{"driver":"dhcp"}}`, `ipam driver "dhcp" is not supported`},
		{"route without gateway", `{"name":"n","id":"i","driver":"d",` + subnet + `,"routes":[{"destination":"10.9.0.0/16"}]}`, "no gateway"},
		{"no subnet", `{"name":"n","id":"i","driver":"d"}`, "network has no subnet"},
		{"bad isolate", `{"name":"n","id":"i","driver":"d",` + subnet + `,"options":{"isolate":"yes"}}`, `network option isolate "yes": want true, strict or false`},
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

// created is the basic network as create returns it, with VNI 4242.
func created(t *testing.T) protocol.Network {
	t.Helper()
	n, _, err := prepare(decodeNetwork(t, basic))
	if err != nil {
		t.Fatal(err)
	}
	return withVNI(n, 4242)
}

// request returns a setup request on the basic network for a container with
// the given addresses, as setup has them from the cluster.
func request(t *testing.T, ips ...string) protocol.NetworkPluginExec {
	t.Helper()
	req := protocol.NetworkPluginExec{
		ContainerID:    "c1",
		ContainerName:  "web",
		Network:        created(t),
		NetworkOptions: protocol.PerNetworkOptions{InterfaceName: "eth0"},
	}
	for _, ip := range ips {
		req.NetworkOptions.StaticIPs = append(req.NetworkOptions.StaticIPs, netip.MustParseAddr(ip))
	}
	return req
}

func TestAttachment(t *testing.T) {
	req := request(t, "10.91.0.5")
	seg, err := parseSegment(req.Network)
	if err != nil {
		t.Fatal(err)
	}
	if seg.vni != 4242 || seg.Bridge.Name != "vxbr4242" || seg.Bridge.Owner != driver.Name {
		t.Errorf("segment: vni %d, bridge %+v", seg.vni, seg.Bridge)
	}
	c, err := container(seg.network, "/run/netns/x", req)
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
	if len(att.Routes) != 1 || att.Routes[0].Destination.String() != "0.0.0.0/0" || att.Routes[0].Gateway.String() != "10.91.0.1" {
		t.Errorf("routes %+v, want the default route", att.Routes)
	}
	if det := detachment(seg.network, "/run/netns/x", req).Link; det.HostIfName != att.HostIfName || det.IfName != "eth0" {
		t.Errorf("detachment %+v does not name the attachment's interfaces", det)
	}
	mac := endpointMAC(req)
	if mac[0]&0x03 != 0x02 || mac.String() != endpointMAC(req).String() {
		t.Errorf("endpoint MAC %s: want a stable, locally administered unicast address", mac)
	}
	req.ContainerID = "c2"
	if endpointMAC(req).String() == mac.String() {
		t.Error("two containers get one MAC")
	}
}

// TestContainerPorts checks that published ports reach the firewall, which
// each host keeps for its own containers.
func TestContainerPorts(t *testing.T) {
	req := request(t, "10.91.0.5")
	req.PortMappings = []protocol.PortMapping{{HostPort: 8080, ContainerPort: 80, Range: 1, Protocol: "tcp"}}
	seg, err := parseSegment(req.Network)
	if err != nil {
		t.Fatal(err)
	}
	c, err := container(seg.network, "/run/netns/x", req)
	if err != nil {
		t.Fatal(err)
	}
	if !seg.Firewall || len(c.Ports) != 1 || c.Ports[0].String() != "8080/tcp" {
		t.Errorf("firewall %t, ports %v", seg.Firewall, c.Ports)
	}
	if seg.Isolate != firewall.IsolateNone {
		t.Errorf("isolate %v, want none by default", seg.Isolate)
	}
}

// TestSetupRefuses checks that bad requests are refused before the plugin
// reaches for etcd or the kernel: these run without root and without a
// configuration, and would fail otherwise.
func TestSetupRefuses(t *testing.T) {
	t.Setenv(config.PathEnv, filepath.Join(t.TempDir(), "missing.json"))
	tests := []struct {
		name string
		edit func(*protocol.NetworkPluginExec)
		want string
	}{
		{"no vni", func(r *protocol.NetworkPluginExec) { delete(r.Network.Options, agentapi.OptVNI) }, `no vni option`},
		{"bridge of another vni", func(r *protocol.NetworkPluginExec) { r.Network.NetworkInterface = "vxbr1" }, "is not vxbr4242"},
		{"bad network", func(r *protocol.NetworkPluginExec) { r.Network.Options["x"] = "y" }, "unknown network option"},
		{"no configuration", func(r *protocol.NetworkPluginExec) {}, "no configuration at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(t)
			tt.edit(&req)
			_, err := NewPlugin("test").Setup(context.Background(), "/run/netns/does-not-matter", req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// FuzzValidate runs the plugin's validation, which runs before etcd or any
// system call, on arbitrary requests: it must never panic, and a network
// that create accepts must be one that setup accepts once it has its VNI.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(basic), []byte(`{"interface_name":"eth0","static_ips":["10.91.0.5"],"static_mac":"aa:bb:cc:dd:ee:01"}`))
	f.Add([]byte(`{"name":"n","id":"i","driver":"d","subnets":[{"subnet":"fd00::/64","gateway":"fd00::1"}],"options":{"vni":"9"},
		"routes":[{"destination":"fd01::/64","gateway":"fd00::fe","metric":5}]}`), []byte(`{"interface_name":"eth1","static_ips":["fd00::5"]}`))
	f.Fuzz(func(t *testing.T, networkDoc, optionsDoc []byte) {
		var req protocol.NetworkPluginExec
		if json.Unmarshal(networkDoc, &req.Network) != nil || json.Unmarshal(optionsDoc, &req.NetworkOptions) != nil {
			return
		}
		n, _, err := prepare(req.Network)
		if err != nil {
			return
		}
		out := withVNI(n, 4096)
		if out.Name != req.Network.Name || out.ID != req.Network.ID || out.Driver != req.Network.Driver {
			t.Fatalf("create changed the network's identity: %+v", out)
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("create's answer does not encode: %v", err)
		}
		seg, err := parseSegment(out)
		if err != nil {
			t.Fatalf("create accepted a network that setup refuses: %v", err)
		}
		req.Network = out
		_, _ = container(seg.network, "/run/netns/fuzz", req)
	})
}
