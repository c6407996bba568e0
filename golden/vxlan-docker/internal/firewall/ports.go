package firewall

import (
	"fmt"
	"net/netip"
	"strings"
)

// PortMapping is a published port as a front end receives it, before
// validation: netavark's port_mappings entries, CNI's portMappings and
// Docker's port bindings all translate into it.
type PortMapping struct {
	// HostIP is an address, or "" for every address of both families.
	HostIP string
	// Protocol is tcp, udp or sctp, in any case, or a comma-separated list
	// of them; "" means tcp.
	Protocol      string
	HostPort      int
	ContainerPort int
	// Range is the number of consecutive ports; 0 means 1.
	Range int
}

// Fields are the names a front end's wire format gives the list of port
// mappings and their fields, for error messages that point at the input.
type Fields struct {
	List, HostIP, Protocol, HostPort, ContainerPort, Range string
}

// NetavarkFields are the names of netavark's port_mappings, which CNI's
// older args.cni.port_mappings convention shares.
var NetavarkFields = Fields{
	List:          "port_mappings",
	HostIP:        "host_ip",
	Protocol:      "protocol",
	HostPort:      "host_port",
	ContainerPort: "container_port",
	Range:         "range",
}

// ParsePorts validates mappings and returns them as Ports, one per
// protocol. It refuses what netavark would misapply or ignore: an unknown
// protocol, a port of 0 or over 65535, a range that runs past 65535, a host
// IP that is no address, and two mappings of one host port, protocol and
// address. It makes no system call; Network.CheckPorts checks the ports
// against a network.
func ParsePorts(mappings []PortMapping, f Fields) ([]Port, error) {
	var ports []Port
	seen := make(map[portKey]int)
	for i, m := range mappings {
		field := func(name string) string { return fmt.Sprintf("%s[%d].%s", f.List, i, name) }
		protos, err := parseProtocols(m.Protocol)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field(f.Protocol), err)
		}
		rng := max(m.Range, 1)
		switch {
		case m.HostPort < 1 || m.HostPort > 65535:
			return nil, fmt.Errorf("%s: %d is not a port number (1 to 65535)", field(f.HostPort), m.HostPort)
		case m.ContainerPort < 1 || m.ContainerPort > 65535:
			return nil, fmt.Errorf("%s: %d is not a port number (1 to 65535)", field(f.ContainerPort), m.ContainerPort)
		case m.Range < 0 || m.HostPort+rng-1 > 65535 || m.ContainerPort+rng-1 > 65535:
			return nil, fmt.Errorf("%s: %d ports from %s %d and %s %d run past port 65535",
				field(f.Range), rng, f.HostPort, m.HostPort, f.ContainerPort, m.ContainerPort)
		}
		var hostIP netip.Addr
		if m.HostIP != "" {
			if hostIP, err = netip.ParseAddr(m.HostIP); err != nil || hostIP.Zone() != "" {
				return nil, fmt.Errorf("%s: %q is not an IP address", field(f.HostIP), m.HostIP)
			}
			hostIP = hostIP.Unmap()
		}
		for _, proto := range protos {
			p := Port{Protocol: proto, HostIP: hostIP, HostPort: uint16(m.HostPort), ContainerPort: uint16(m.ContainerPort), Range: uint16(rng)}
			for _, k := range p.keys(true, true) {
				if j, dup := seen[k]; dup {
					return nil, fmt.Errorf("%s: host port %s is also published by %s[%d]", field(f.HostPort), k, f.List, j)
				}
				seen[k] = i
			}
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// CheckPorts refuses a port published on an address of a family that n has
// no subnet of: the container has no address to forward it to. field names
// the host address field in the message.
func (n Network) CheckPorts(ports []Port, field string) error {
	for _, p := range ports {
		if a := p.HostIP; a.IsValid() && !n.hasFamily(a.Is4()) {
			return fmt.Errorf("%s %s is an %s address, and network %s has no %s subnet",
				field, a, familyName(a.Is4()), n.Name, familyName(a.Is4()))
		}
	}
	return nil
}

// ParsePorts is the package function ParsePorts followed by CheckPorts.
// An internal network publishes nothing, as with netavark: its mappings
// are validated, then dropped.
func (n Network) ParsePorts(mappings []PortMapping, f Fields) ([]Port, error) {
	ports, err := ParsePorts(mappings, f)
	if err == nil {
		err = n.CheckPorts(ports, f.HostIP)
	}
	if err != nil || n.Internal {
		return nil, err
	}
	return ports, nil
}

// parseProtocols splits a protocol field: podman splits "tcp,udp" itself,
// but the type allows it and other callers send it.
func parseProtocols(s string) ([]Protocol, error) {
	if strings.TrimSpace(s) == "" {
		return []Protocol{TCP}, nil
	}
	var protos []Protocol
	for _, name := range strings.Split(s, ",") {
		var p Protocol
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "tcp":
			p = TCP
		case "udp":
			p = UDP
		case "sctp":
			p = SCTP
		default:
			return nil, fmt.Errorf("%q is not tcp, udp or sctp", name)
		}
		if !containsProtocol(protos, p) {
			protos = append(protos, p)
		}
	}
	return protos, nil
}

func containsProtocol(protos []Protocol, p Protocol) bool {
	for _, q := range protos {
		if q == p {
			return true
		}
	}
	return false
}

// hasFamily reports whether n has a subnet of the family.
func (n Network) hasFamily(ipv4 bool) bool {
	for _, s := range n.Subnets {
		if s.Addr().Is4() == ipv4 {
			return true
		}
	}
	return false
}

func familyName(ipv4 bool) string {
	if ipv4 {
		return "IPv4"
	}
	return "IPv6"
}

// portKey is one host port of one family as the kernel looks it up: on
// one address, or on every address of the family when addr is invalid.
type portKey struct {
	ipv4  bool
	addr  netip.Addr
	proto Protocol
	port  uint16
}

func (k portKey) String() string {
	where := "every " + familyName(k.ipv4) + " address"
	if k.addr.IsValid() {
		where = k.addr.String()
	}
	return fmt.Sprintf("%d/%s on %s", k.port, k.proto, where)
}

// keys returns the host ports p takes on a network with the families
// given: one per port of its range and family of its host address, or of
// each family when it has none.
func (p Port) keys(v4, v6 bool) []portKey {
	var keys []portKey
	for _, ipv4 := range []bool{true, false} {
		if !p.appliesTo(ipv4) || ipv4 && !v4 || !ipv4 && !v6 {
			continue
		}
		addr := p.HostIP
		if addr.IsUnspecified() {
			addr = netip.Addr{}
		}
		for i := range p.Range {
			keys = append(keys, portKey{ipv4: ipv4, addr: addr, proto: p.Protocol, port: p.HostPort + i})
		}
	}
	return keys
}

// appliesTo reports whether p is published on addresses of the family.
func (p Port) appliesTo(ipv4 bool) bool {
	return !p.HostIP.IsValid() || p.HostIP.Is4() == ipv4
}
