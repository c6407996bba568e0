package driver

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/firewall"
)

// Option keys of a network, the same for every runtime: podman network
// create -o KEY=VALUE, docker network create -o KEY=VALUE and the keys of a
// CNI configuration.
const (
	OptBridge   = "bridge"   // name of the host bridge
	OptMTU      = "mtu"      // MTU of the bridge and the containers' interfaces
	OptMetric   = "metric"   // metric of the containers' default routes (default 100)
	OptIsolate  = "isolate"  // true, strict or false: see firewall.Isolation
	OptFirewall = "firewall" // nftables (the default) or none
)

// DefaultMetric is the metric of the containers' default routes, as
// netavark's: another network of the container may come first with a lower
// one.
const DefaultMetric = 100

// Settings are a network's options, validated.
type Settings struct {
	// Bridge is the bridge option; empty leaves the choice to the front
	// end (DefaultBridge).
	Bridge string
	// MTU is 0 for the kernel's default.
	MTU    int
	Metric uint32
	// Isolate cuts the network off from the plugin's other networks.
	Isolate firewall.Isolation
	// Firewall is false when the host's operator keeps the network's
	// rules (firewall=none).
	Firewall bool
}

// ParseSettings validates a network's options opts, whose keys must be
// among known, and returns the settings. It makes no system call.
func ParseSettings(opts map[string]string, known ...string) (Settings, error) {
	if err := CheckOptions("network", opts, known...); err != nil {
		return Settings{}, err
	}
	s := Settings{Bridge: opts[OptBridge]}
	var err error
	if s.Bridge != "" {
		if err := dataplane.ValidateIfName("bridge name", s.Bridge); err != nil {
			return Settings{}, err
		}
	}
	if s.MTU, err = ParseMTU(opts[OptMTU]); err != nil {
		return Settings{}, err
	}
	if s.Metric, err = parseMetric(opts[OptMetric]); err != nil {
		return Settings{}, err
	}
	if s.Isolate, err = firewall.ParseIsolation(opts[OptIsolate]); err != nil {
		return Settings{}, fmt.Errorf("network option %w", err)
	}
	switch f := opts[OptFirewall]; f {
	case "", "nftables":
		s.Firewall = true
	case "none":
	default:
		return Settings{}, fmt.Errorf("invalid %s %q: want nftables or none", OptFirewall, f)
	}
	return s, nil
}

// CheckOptions refuses keys of opts, the options of a network or of a
// container (what), that are not among known.
func CheckOptions(what string, opts map[string]string, known ...string) error {
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		if !slices.Contains(known, k) {
			return fmt.Errorf("unknown %s option %q (known: %s)", what, k, strings.Join(known, ", "))
		}
	}
	return nil
}

// ParseMTU parses an MTU given as decimal text; "" means the kernel's
// default and returns 0.
func ParseMTU(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	mtu, err := strconv.Atoi(s)
	if err != nil || mtu < 68 || mtu > 65535 {
		return 0, fmt.Errorf("invalid %s %q: want a number from 68 to 65535", OptMTU, s)
	}
	return mtu, nil
}

// parseMetric parses a metric option; "" means DefaultMetric.
func parseMetric(s string) (uint32, error) {
	if s == "" {
		return DefaultMetric, nil
	}
	m, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid %s %q: want a number from 0 to %d", OptMetric, s, uint32(math.MaxUint32))
	}
	return uint32(m), nil
}

// DefaultBridge names the bridge of a network that names none after key,
// the network's name or ID: "br-KEY", or "br-" and a hash of key when that
// is no valid interface name, so that two networks never share a bridge by
// accident.
func DefaultBridge(key string) string {
	name := "br-" + key
	if dataplane.ValidateIfName("bridge name", name) != nil {
		sum := sha256.Sum256([]byte(key))
		name = "br-" + hex.EncodeToString(sum[:])[:maxBridgeHash]
	}
	return name
}

// maxBridgeHash is what fits of a hash after "br-" in an interface name.
const maxBridgeHash = 15 - len("br-")

// Subnet is a subnet of a network, and its gateway, the bridge's address;
// the zero Addr when it has none.
type Subnet struct {
	Prefix  netip.Prefix
	Gateway netip.Addr
}

// Network is a network, validated.
type Network struct {
	// Name names the network in errors and in its firewall rules.
	Name string
	// Bridge is the network's bridge, with the subnets' gateways.
	Bridge dataplane.Bridge
	// Subnets are the network's subnets, masked.
	Subnets []Subnet
	Settings
	// NoMasquerade turns outbound NAT off, for networks whose subnets are
	// routed (Docker's enable_ip_masquerade=false, CNI without ipMasq).
	NoMasquerade bool
}

// NewNetwork returns the network name of the settings s on subnets, with
// the bridge bridge (s.Bridge, or the front end's default). It refuses
// overlapping subnets and gateways outside their subnet, and makes no
// system call.
func NewNetwork(name string, s Settings, bridge string, subnets []Subnet, internal bool) (Network, error) {
	if err := dataplane.ValidateIfName("bridge name", bridge); err != nil {
		return Network{}, err
	}
	n := Network{
		Name:     name,
		Bridge:   dataplane.Bridge{Name: bridge, MTU: s.MTU, Owner: Name, Internal: internal},
		Settings: s,
	}
	for _, sub := range subnets {
		if !sub.Prefix.IsValid() {
			return Network{}, errors.New(`subnet without a "subnet" range`)
		}
		sub.Prefix = sub.Prefix.Masked()
		for _, other := range n.Subnets {
			if other.Prefix.Overlaps(sub.Prefix) {
				return Network{}, fmt.Errorf("subnet %s overlaps subnet %s", sub.Prefix, other.Prefix)
			}
		}
		if sub.Gateway.IsValid() {
			if !sub.Prefix.Contains(sub.Gateway) {
				return Network{}, fmt.Errorf("gateway %s is outside its subnet %s", sub.Gateway, sub.Prefix)
			}
			n.Bridge.Gateways = append(n.Bridge.Gateways, netip.PrefixFrom(sub.Gateway, sub.Prefix.Bits()))
		}
		n.Subnets = append(n.Subnets, sub)
	}
	return n, nil
}

// Subnet returns the index of the subnet of n that holds addr, or -1.
func (n Network) Subnet(addr netip.Addr) int {
	return slices.IndexFunc(n.Subnets, func(s Subnet) bool { return s.Prefix.Contains(addr) })
}

// PublishedPorts validates a container's port mappings for n, whose
// runtime names them as f says. A network of firewall=none refuses them,
// rather than leave clients to hang; an internal one publishes nothing, as
// netavark's.
func (n Network) PublishedPorts(mappings []firewall.PortMapping, f firewall.Fields) ([]firewall.Port, error) {
	if !n.Firewall && len(mappings) > 0 {
		return nil, fmt.Errorf("network %s has %s=none: this driver publishes no ports on it; "+
			"publish them with your own rules", n.Name, OptFirewall)
	}
	return n.firewall().ParsePorts(mappings, f)
}

// firewall is the network as the firewall sees it.
func (n Network) firewall() firewall.Network {
	fw := firewall.Network{Name: n.Name, Bridge: n.Bridge.Name, Internal: n.Bridge.Internal,
		NoMasquerade: n.NoMasquerade, Isolate: n.Isolate}
	for _, s := range n.Subnets {
		fw.Subnets = append(fw.Subnets, s.Prefix)
	}
	return fw
}

// FirstHost returns the first address after a subnet's network address,
// the usual gateway, or the zero Addr for a subnet too small to spare one.
func FirstHost(p netip.Prefix) netip.Addr {
	if p.Bits() >= p.Addr().BitLen()-1 {
		return netip.Addr{}
	}
	return p.Masked().Addr().Next()
}

// DefaultRoute returns the default route's destination of a family.
func DefaultRoute(ipv4 bool) netip.Prefix {
	if ipv4 {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
}
