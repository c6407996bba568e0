package netavark

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/firewall"
	"example.com/demo/internal/protocol"
)

// networkOptions and containerOptions are the option keys accepted on a
// network (podman network create -o KEY=VALUE) and on a container's
// attachment (--network NAME:KEY=VALUE).
var (
	networkOptions   = []string{driver.OptBridge, driver.OptMTU, driver.OptMetric, driver.OptIsolate, driver.OptFirewall}
	containerOptions = []string{driver.OptMTU}
)

// network is a netavark network, validated: the driver's network and the
// routes it gives its containers.
type network struct {
	driver.Network
	routes []dataplane.Route
}

// parseNetwork validates a network as netavark sends it. It makes no system
// call, so hostile input is refused before anything is touched.
func parseNetwork(n protocol.Network) (network, error) {
	s, err := driver.ParseSettings(n.Options, networkOptions...)
	if err != nil {
		return network{}, err
	}
	bridge, err := bridgeName(n, s)
	if err != nil {
		return network{}, err
	}
	switch ipam := n.IPAMOptions["driver"]; ipam {
	case "", "host-local", "none":
	default:
		return network{}, fmt.Errorf("ipam driver %q is not supported (supported: host-local, none)", ipam)
	}
	subnets := make([]driver.Subnet, len(n.Subnets))
	for i, sub := range n.Subnets {
		subnets[i] = driver.Subnet{Prefix: sub.Subnet.Prefix, Gateway: sub.Gateway}
	}
	dn, err := driver.NewNetwork(n.Name, s, bridge, subnets, n.Internal)
	if err != nil {
		return network{}, err
	}
	out := network{Network: dn}
	for _, r := range n.Routes {
		route, err := parseRoute(r)
		if err != nil {
			return network{}, err
		}
		out.routes = append(out.routes, route)
	}
	return out, nil
}

// bridgeName returns the network's bridge: the bridge option, else the
// network interface podman recorded, else one named after the network.
func bridgeName(n protocol.Network, s driver.Settings) (string, error) {
	switch {
	case s.Bridge != "" && n.NetworkInterface != "" && s.Bridge != n.NetworkInterface:
		return "", fmt.Errorf("option %s=%s differs from the network interface %s", driver.OptBridge, s.Bridge, n.NetworkInterface)
	case s.Bridge != "":
		return s.Bridge, nil
	case n.NetworkInterface != "":
		return n.NetworkInterface, nil
	}
	return driver.DefaultBridge(n.Name), nil
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

// container validates a container's settings on the network and returns
// what to attach for it.
func container(n network, netns string, req protocol.NetworkPluginExec) (driver.Container, error) {
	opts := req.NetworkOptions
	if err := dataplane.ValidateIfName("container interface name", opts.InterfaceName); err != nil {
		return driver.Container{}, err
	}
	if err := driver.CheckOptions("container", opts.Options, containerOptions...); err != nil {
		return driver.Container{}, err
	}
	mtu, err := driver.ParseMTU(opts.Options[driver.OptMTU])
	if err != nil {
		return driver.Container{}, err
	}
	if len(opts.StaticIPs) == 0 {
		return driver.Container{}, errors.New("no static_ips for the container: this driver does not allocate " +
			"addresses; give the network a subnet so that podman allocates them (ipam driver host-local)")
	}
	c := detachment(n, netns, req)
	c.Link.MAC = net.HardwareAddr(opts.StaticMAC)
	c.Link.MTU = cmp.Or(mtu, n.Bridge.MTU)
	c.Link.Addresses = nil
	used := make(map[int]bool)
	for _, ip := range opts.StaticIPs {
		i := n.Subnet(ip)
		switch {
		case i < 0:
			return driver.Container{}, fmt.Errorf("static ip %s is outside every subnet of network %s", ip, req.Network.Name)
		case used[i]:
			return driver.Container{}, fmt.Errorf("two static ips in subnet %s", n.Subnets[i].Prefix)
		case ip == n.Subnets[i].Gateway:
			return driver.Container{}, fmt.Errorf("static ip %s is the gateway of subnet %s", ip, n.Subnets[i].Prefix)
		}
		used[i] = true
		s := n.Subnets[i]
		c.Link.Addresses = append(c.Link.Addresses, netip.PrefixFrom(ip, s.Prefix.Bits()))
		if s.Gateway.IsValid() && !n.Bridge.Internal {
			c.Link.Routes = append(c.Link.Routes, dataplane.Route{Destination: driver.DefaultRoute(ip.Is4()), Gateway: s.Gateway, Metric: n.Metric})
		}
	}
	for _, r := range n.routes {
		if !slices.ContainsFunc(c.Link.Addresses, func(a netip.Prefix) bool { return a.Masked().Contains(r.Gateway) }) {
			return driver.Container{}, fmt.Errorf("route to %s: gateway %s is not in a subnet of the container", r.Destination, r.Gateway)
		}
		c.Link.Routes = append(c.Link.Routes, r)
	}
	c.Ports, err = n.PublishedPorts(portMappings(req.PortMappings), firewall.NetavarkFields)
	return c, err
}

// detachment returns what identifies a container on the network for
// teardown: its interfaces, addresses and published ports. It validates
// nothing: teardown must work whatever setup did, and what setup refused
// it finds nothing of.
func detachment(n network, netns string, req protocol.NetworkPluginExec) driver.Container {
	c := driver.Container{
		ID:   req.ContainerID,
		Name: req.ContainerName,
		Link: dataplane.Attachment{NetnsPath: netns, IfName: req.NetworkOptions.InterfaceName, HostIfName: hostIfName(req)},
	}
	c.Link.Addresses = n.prefixes(req.NetworkOptions.StaticIPs)
	c.Ports, _ = n.PublishedPorts(portMappings(req.PortMappings), firewall.NetavarkFields)
	return c
}

// portMappings are netavark's port mappings for the firewall to validate.
func portMappings(pms []protocol.PortMapping) []firewall.PortMapping {
	out := make([]firewall.PortMapping, len(pms))
	for i, m := range pms {
		out[i] = firewall.PortMapping{HostIP: m.HostIP, Protocol: m.Protocol, HostPort: int(m.HostPort),
			ContainerPort: int(m.ContainerPort), Range: int(m.Range)}
	}
	return out
}

// prefixes returns those of ips that are in a subnet of n, each with its
// subnet's prefix length.
func (n network) prefixes(ips []netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for _, ip := range ips {
		if i := n.Subnet(ip); i >= 0 {
			out = append(out, netip.PrefixFrom(ip, n.Subnets[i].Prefix.Bits()))
		}
	}
	return out
}

// attachmentKey identifies a container's interface on the network: the
// container, the network and the interface.
func attachmentKey(req protocol.NetworkPluginExec) string {
	return req.ContainerID + "/" + req.Network.ID + "/" + req.NetworkOptions.InterfaceName
}

// hostIfName names the host end of a container's veth after its
// attachmentKey, so that teardown finds it without state.
func hostIfName(req protocol.NetworkPluginExec) string {
	return dataplane.HostIfName(attachmentKey(req))
}

// status is what setup reports to netavark for the attached interface.
func status(n network, res dataplane.Result) protocol.StatusBlock {
	iface := protocol.NetInterface{MACAddress: protocol.HardwareAddr(res.MAC)}
	for _, addr := range res.Addresses {
		a := protocol.NetAddress{IPNet: protocol.IPNetFrom(addr.Addr(), addr.Bits())}
		if i := n.Subnet(addr.Addr()); i >= 0 {
			a.Gateway = n.Subnets[i].Gateway
		}
		iface.Subnets = append(iface.Subnets, a)
	}
	return protocol.StatusBlock{Interfaces: map[string]protocol.NetInterface{res.IfName: iface}}
}
