package bridge

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/firewall"
	"example.com/demo/internal/protocol"
)

// Network options (podman network create -o KEY=VALUE) the driver knows.
const (
	optBridge   = "bridge"   // name of the host bridge
	optMTU      = "mtu"      // MTU of the bridge and the containers' interfaces
	optMetric   = "metric"   // metric of the containers' default routes (default 100)
	optIsolate  = "isolate"  // true, strict or false: see firewall.Isolation
	optFirewall = "firewall" // nftables (the default) or none
)

// networkOptions and containerOptions are the option keys accepted on a
// network and on a container's attachment (--network NAME:KEY=VALUE).
var (
	networkOptions   = []string{optBridge, optMTU, optMetric, optIsolate, optFirewall}
	containerOptions = []string{optMTU}
)

// defaultMetric is the metric of the containers' default routes, as
// netavark's: another network of the container may come first with a lower
// one.
const defaultMetric = 100

// maxIfNameLen is the longest Linux interface name (IFNAMSIZ - 1).
const maxIfNameLen = 15

// config is a network's settings, validated.
type config struct {
	bridge   dataplane.Bridge
	subnets  []protocol.Subnet
	routes   []dataplane.Route
	internal bool
	metric   uint32
	// fw is the network as the firewall sees it; firewall is false when
	// the network's firewall option is none.
	fw       firewall.Network
	firewall bool
}

// parseNetwork validates network and returns its settings. It makes no
// system call, so hostile input is refused before anything is touched.
func parseNetwork(network protocol.Network) (config, error) {
	cfg := config{internal: network.Internal}
	if err := checkOptions("network", network.Options, networkOptions); err != nil {
		return config{}, err
	}
	var err error
	if cfg.bridge.Name, err = bridgeName(network); err != nil {
		return config{}, err
	}
	cfg.bridge.Owner = Name
	cfg.bridge.Internal = network.Internal
	if cfg.bridge.MTU, err = parseMTU(network.Options[optMTU]); err != nil {
		return config{}, err
	}
	if cfg.metric, err = parseMetric(network.Options[optMetric]); err != nil {
		return config{}, err
	}
	if cfg.firewall, err = parseFirewall(network.Options[optFirewall]); err != nil {
		return config{}, err
	}
	cfg.fw = firewall.Network{Name: network.Name, Bridge: cfg.bridge.Name, Internal: network.Internal}
	if cfg.fw.Isolate, err = firewall.ParseIsolation(network.Options[optIsolate]); err != nil {
		return config{}, fmt.Errorf("network option %w", err)
	}
	switch driver := network.IPAMOptions["driver"]; driver {
	case "", "host-local", "none":
	default:
		return config{}, fmt.Errorf("ipam driver %q is not supported (supported: host-local, none)", driver)
	}
	for _, s := range network.Subnets {
		if !s.Subnet.IsValid() {
			return config{}, errors.New("subnet without a \"subnet\" range")
		}
		prefix := s.Subnet.Masked()
		for _, other := range cfg.subnets {
			if other.Subnet.Overlaps(prefix) {
				return config{}, fmt.Errorf("subnet %s overlaps subnet %s", prefix, other.Subnet.Masked())
			}
		}
		if s.Gateway.IsValid() {
			if !prefix.Contains(s.Gateway) {
				return config{}, fmt.Errorf("gateway %s is outside its subnet %s", s.Gateway, prefix)
			}
			cfg.bridge.Gateways = append(cfg.bridge.Gateways, netip.PrefixFrom(s.Gateway, prefix.Bits()))
		}
		s.Subnet = protocol.IPNet{Prefix: prefix}
		cfg.subnets = append(cfg.subnets, s)
		cfg.fw.Subnets = append(cfg.fw.Subnets, prefix)
	}
	for _, r := range network.Routes {
		route, err := parseRoute(r)
		if err != nil {
			return config{}, err
		}
		cfg.routes = append(cfg.routes, route)
	}
	return cfg, nil
}

// bridgeName returns the network's bridge: the bridge option, else the
// network interface podman recorded, else a name derived from the network's.
func bridgeName(network protocol.Network) (string, error) {
	name := network.Options[optBridge]
	switch {
	case name != "" && network.NetworkInterface != "" && name != network.NetworkInterface:
		return "", fmt.Errorf("option %s=%s differs from the network interface %s", optBridge, name, network.NetworkInterface)
	case name == "":
		name = network.NetworkInterface
	}
	if name == "" {
		name = derivedBridgeName(network.Name)
	}
	return name, checkIfName(name)
}

// derivedBridgeName names a network's bridge "br-NAME", or "br-" and a hash
// of the name when it is too long or not a valid interface name, so that two
// networks never share a bridge by accident.
func derivedBridgeName(network string) string {
	name := "br-" + network
	if checkIfName(name) != nil {
		sum := sha256.Sum256([]byte(network))
		name = "br-" + hex.EncodeToString(sum[:])[:maxIfNameLen-3]
	}
	return name
}

// checkIfName checks that name can be a Linux interface name.
func checkIfName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("invalid interface name %q", name)
	case len(name) > maxIfNameLen:
		return fmt.Errorf("interface name %q is longer than %d characters", name, maxIfNameLen)
	case strings.ContainsAny(name, "/: \t\n\r\v\f"):
		return fmt.Errorf("interface name %q contains '/', ':' or whitespace", name)
	}
	return nil
}

// parseMTU parses an mtu option; "" means the kernel's default.
func parseMTU(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	mtu, err := strconv.Atoi(s)
	if err != nil || mtu < 68 || mtu > 65535 {
		return 0, fmt.Errorf("invalid %s %q: want a number from 68 to 65535", optMTU, s)
	}
	return mtu, nil
}

// parseMetric parses a metric option; "" means defaultMetric.
func parseMetric(s string) (uint32, error) {
	if s == "" {
		return defaultMetric, nil
	}
	m, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid %s %q: want a number from 0 to %d", optMetric, s, uint32(math.MaxUint32))
	}
	return uint32(m), nil
}

// parseFirewall parses the firewall option: whether the plugin keeps the
// network's nftables rules (nftables, the default) or leaves them to the
// host's operator (none).
func parseFirewall(s string) (bool, error) {
	switch s {
	case "", "nftables":
		return true, nil
	case "none":
		return false, nil
	}
	return false, fmt.Errorf("invalid %s %q: want nftables or none", optFirewall, s)
}

// checkOptions refuses option keys that are not in known.
func checkOptions(what string, opts map[string]string, known []string) error {
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if !slices.Contains(known, k) {
			return fmt.Errorf("unknown %s option %q (known: %s)", what, k, strings.Join(known, ", "))
		}
	}
	return nil
}

// parseRoute validates a static route of the network.
func parseRoute(r protocol.Route) (dataplane.Route, error) {
	if r.RouteType != "" && r.RouteType != "unicast" {
		return dataplane.Route{}, fmt.Errorf("route to %s: route type %q is not supported (only unicast)", r.Destination, r.RouteType)
	}
	if !r.Destination.IsValid() {
		return dataplane.Route{}, errors.New("route without a destination")
	}
	if !r.Gateway.IsValid() {
		return dataplane.Route{}, fmt.Errorf("route to %s has no gateway", r.Destination)
	}
	if r.Gateway.Is4() != r.Destination.Addr().Is4() {
		return dataplane.Route{}, fmt.Errorf("route to %s: gateway %s is of the other IP version", r.Destination, r.Gateway)
	}
	route := dataplane.Route{Destination: r.Destination.Masked(), Gateway: r.Gateway}
	if r.Metric != nil {
		route.Metric = *r.Metric
	}
	return route, nil
}

// attachment validates a container's settings on the network and returns
// what to create for it.
func (cfg config) attachment(netns string, req protocol.NetworkPluginExec) (dataplane.Attachment, error) {
	opts := req.NetworkOptions
	if err := checkIfName(opts.InterfaceName); err != nil {
		return dataplane.Attachment{}, fmt.Errorf("container interface: %w", err)
	}
	if err := checkOptions("container", opts.Options, containerOptions); err != nil {
		return dataplane.Attachment{}, err
	}
	mtu, err := parseMTU(opts.Options[optMTU])
	if err != nil {
		return dataplane.Attachment{}, err
	}
	if mtu == 0 {
		mtu = cfg.bridge.MTU
	}
	if len(opts.StaticIPs) == 0 {
		return dataplane.Attachment{}, errors.New("no static_ips for the container: this driver does not allocate " +
			"addresses; give the network a subnet so that podman allocates them (ipam driver host-local)")
	}
	att := dataplane.Attachment{
		NetnsPath:  netns,
		IfName:     opts.InterfaceName,
		HostIfName: hostIfName(req),
		MAC:        net.HardwareAddr(opts.StaticMAC),
		MTU:        mtu,
	}
	used := make(map[int]bool)
	for _, ip := range opts.StaticIPs {
		i := slices.IndexFunc(cfg.subnets, func(s protocol.Subnet) bool { return s.Subnet.Contains(ip) })
		switch {
		case i < 0:
			return dataplane.Attachment{}, fmt.Errorf("static ip %s is outside every subnet of network %s", ip, req.Network.Name)
		case used[i]:
			return dataplane.Attachment{}, fmt.Errorf("two static ips in subnet %s", cfg.subnets[i].Subnet)
		case ip == cfg.subnets[i].Gateway:
			return dataplane.Attachment{}, fmt.Errorf("static ip %s is the gateway of subnet %s", ip, cfg.subnets[i].Subnet)
		}
		used[i] = true
		s := cfg.subnets[i]
		att.Addresses = append(att.Addresses, netip.PrefixFrom(ip, s.Subnet.Bits()))
		if s.Gateway.IsValid() && !cfg.internal {
			att.Routes = append(att.Routes, dataplane.Route{Destination: defaultRoute(ip), Gateway: s.Gateway, Metric: cfg.metric})
		}
	}
	for _, r := range cfg.routes {
		if !slices.ContainsFunc(att.Addresses, func(a netip.Prefix) bool { return a.Masked().Contains(r.Gateway) }) {
			return dataplane.Attachment{}, fmt.Errorf("route to %s: gateway %s is not in a subnet of the container", r.Destination, r.Gateway)
		}
		att.Routes = append(att.Routes, r)
	}
	return att, nil
}

// detachment returns what identifies a container's interfaces for teardown.
// It validates nothing: teardown must work whatever setup did.
func (cfg config) detachment(netns string, req protocol.NetworkPluginExec) dataplane.Attachment {
	return dataplane.Attachment{NetnsPath: netns, IfName: req.NetworkOptions.InterfaceName, HostIfName: hostIfName(req)}
}

// hostIfName names the host end of a container's veth after the container,
// the network and the interface, so that teardown finds it without state.
func hostIfName(req protocol.NetworkPluginExec) string {
	return dataplane.HostIfName(req.ContainerID + "/" + req.Network.ID + "/" + req.NetworkOptions.InterfaceName)
}

// defaultRoute returns the default route of ip's family.
func defaultRoute(ip netip.Addr) netip.Prefix {
	if ip.Is4() {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
}

// container is the container of req as the firewall sees it, with its
// published ports. A network with firewall=none publishes none, and refuses
// a container that asks for some rather than leave them unreachable.
func (cfg config) container(req protocol.NetworkPluginExec) (firewall.Container, error) {
	c := firewall.Container{ID: req.ContainerID, Name: req.ContainerName, Addresses: req.NetworkOptions.StaticIPs}
	mappings := make([]firewall.PortMapping, len(req.PortMappings))
	for i, m := range req.PortMappings {
		mappings[i] = firewall.PortMapping{HostIP: m.HostIP, Protocol: m.Protocol, HostPort: int(m.HostPort),
			ContainerPort: int(m.ContainerPort), Range: int(m.Range)}
	}
	if !cfg.firewall {
		if len(mappings) > 0 {
			return firewall.Container{}, fmt.Errorf("network %s has %s=none: this driver publishes no ports on it; "+
				"publish them with your own rules", cfg.fw.Name, optFirewall)
		}
		return c, nil
	}
	var err error
	c.Ports, err = cfg.fw.ParsePorts(mappings, firewall.NetavarkFields)
	return c, err
}

// status is what setup reports to netavark for the attached interface.
func (cfg config) status(res dataplane.Result) protocol.StatusBlock {
	iface := protocol.NetInterface{MACAddress: protocol.HardwareAddr(res.MAC)}
	for _, addr := range res.Addresses {
		a := protocol.NetAddress{IPNet: protocol.IPNetFrom(addr.Addr(), addr.Bits())}
		if i := slices.IndexFunc(cfg.subnets, func(s protocol.Subnet) bool { return s.Subnet.Contains(addr.Addr()) }); i >= 0 {
			a.Gateway = cfg.subnets[i].Gateway
		}
		iface.Subnets = append(iface.Subnets, a)
	}
	return protocol.StatusBlock{Interfaces: map[string]protocol.NetInterface{res.IfName: iface}}
}
