package cni

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/driver"
)

// Where requested addresses come from, in order of precedence. CONVENTIONS.md
// makes args.cni.ips win over the deprecated CNI_ARGS IP; runtimeConfig.ips
// sits between them. Only the first source that holds addresses is read:
// the others are ignored, even when malformed.
const (
	sourceArgs          = "args.cni.ips"
	sourceRuntimeConfig = "runtimeConfig.ips"
	sourceEnvArgs       = "CNI_ARGS IP"
)

// requestedAddresses returns the addresses the runtime asks for and where
// they come from, or no addresses and "" when it asks for none. Each needs
// its prefix length, which is the only thing that says what the subnet is.
// cniArgs is CNI_ARGS: "K=V;K2=V2", where IP may list addresses separated
// by commas. Errors are CNI errors: 7 for the configuration, 4 for CNI_ARGS.
func requestedAddresses(conf *NetConf, cniArgs string) ([]netip.Prefix, string, error) {
	if conf.Args != nil && conf.Args.CNI != nil && len(conf.Args.CNI.IPs) > 0 {
		addrs, err := parseAddresses(conf.Args.CNI.IPs)
		if err != nil {
			return nil, "", invalidConfig(fmt.Errorf("%s: %w", sourceArgs, err))
		}
		return addrs, sourceArgs, nil
	}
	if ips := conf.RuntimeConfig.IPs; len(ips) > 0 {
		addrs, err := parseAddresses(ips)
		if err != nil {
			return nil, "", invalidConfig(fmt.Errorf("%s: %w", sourceRuntimeConfig, err))
		}
		return addrs, sourceRuntimeConfig, nil
	}
	ip, err := envArg(cniArgs, "IP")
	if err != nil || ip == "" {
		return nil, "", err
	}
	addrs, err := parseAddresses(strings.Split(ip, ","))
	if err != nil {
		return nil, "", types.NewError(types.ErrInvalidEnvironmentVariables, "invalid CNI_ARGS", fmt.Sprintf("CNI_ARGS IP=%s: %v", ip, err))
	}
	return addrs, sourceEnvArgs, nil
}

// envArg returns the value of key in CNI_ARGS, "" if it is not there.
// Other keys are allowed and ignored: runtimes pass their own (K8S_POD_NAME,
// IgnoreUnknown).
func envArg(cniArgs, key string) (string, error) {
	if cniArgs == "" {
		return "", nil
	}
	for _, pair := range strings.Split(cniArgs, ";") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return "", types.NewError(types.ErrInvalidEnvironmentVariables, "invalid CNI_ARGS",
				fmt.Sprintf("CNI_ARGS: %q is not KEY=VALUE", pair))
		}
		if k == key {
			return v, nil
		}
	}
	return "", nil
}

// parseAddresses parses requested addresses: "10.88.0.5/24", one per
// subnet and none a subnet's network address.
func parseAddresses(ss []string) ([]netip.Prefix, error) {
	var addrs []netip.Prefix
	for _, s := range ss {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if _, aerr := netip.ParseAddr(s); aerr == nil {
				return nil, fmt.Errorf("%s has no prefix length: without an ipam section the plugin needs the subnet, as in %s/24", s, s)
			}
			return nil, err
		}
		switch {
		case p.Addr().Is4In6():
			return nil, fmt.Errorf("%s is IPv4-mapped IPv6: give it as plain IPv4", s)
		case p.Addr() == p.Masked().Addr() && p.Bits() < p.Addr().BitLen()-1:
			return nil, fmt.Errorf("%s is the network address of its subnet", s)
		}
		for _, other := range addrs {
			if other.Masked().Overlaps(p.Masked()) {
				return nil, fmt.Errorf("%s and %s are in the same subnet", other, p)
			}
		}
		addrs = append(addrs, p)
	}
	return addrs, nil
}

// addressing is what a container gets on the network: addresses with their
// gateways, routes and DNS settings, from requested addresses or an IPAM
// result.
type addressing struct {
	ips    []ipConfig
	routes []dataplane.Route
	dns    types.DNS
	// source says where the addresses came from, for the record.
	source string
}

// ipConfig is one container address and its subnet's gateway, if any.
type ipConfig struct {
	address netip.Prefix
	gateway netip.Addr
}

// staticAddressing returns the addressing of requested addresses: each
// gets the configured gateway of its subnet.
func (c *config) staticAddressing(addrs []netip.Prefix, source string) (addressing, error) {
	a := addressing{source: source, dns: c.DNS}
	for _, p := range addrs {
		a.ips = append(a.ips, ipConfig{address: p})
	}
	return a, c.completeAddressing(&a)
}

// ipamAddressing returns the addressing of an IPAM plugin's result.
func (c *config) ipamAddressing(res *current.Result) (addressing, error) {
	a := addressing{source: "ipam " + c.IPAM.Type, dns: res.DNS}
	// Settings in the network configuration override what IPAM says.
	if dnsSet(c.DNS) {
		a.dns = c.DNS
	}
	for _, ipc := range res.IPs {
		p, ok := prefixOf(ipc.Address)
		if !ok {
			return addressing{}, fmt.Errorf("ipam %s: invalid address %v", c.IPAM.Type, ipc.Address)
		}
		gw, _ := netip.AddrFromSlice(ipc.Gateway)
		a.ips = append(a.ips, ipConfig{address: p, gateway: gw.Unmap()})
	}
	for _, r := range res.Routes {
		dst, ok := prefixOf(r.Dst)
		if !ok {
			return addressing{}, fmt.Errorf("ipam %s: invalid route destination %v", c.IPAM.Type, r.Dst)
		}
		gw, _ := netip.AddrFromSlice(r.GW)
		route := dataplane.Route{Destination: dst.Masked(), Gateway: gw.Unmap()}
		if r.Priority > 0 {
			route.Metric = uint32(r.Priority)
		}
		a.routes = append(a.routes, route)
	}
	return a, c.completeAddressing(&a)
}

// completeAddressing fills in what the addresses' source left out: gateways
// from the configuration (or, with isGateway, each subnet's first address),
// the gateway of routes that name none, and with isDefaultGateway a default
// route per address family.
func (c *config) completeAddressing(a *addressing) error {
	for i := range a.ips {
		ipc := &a.ips[i]
		subnet := ipc.address.Masked()
		if !ipc.gateway.IsValid() {
			if j := slices.IndexFunc(c.gateways, subnet.Contains); j >= 0 {
				ipc.gateway = c.gateways[j]
			} else if c.isGateway {
				ipc.gateway = driver.FirstHost(subnet)
			}
		}
		switch gw := ipc.gateway; {
		case !gw.IsValid():
		case !subnet.Contains(gw):
			return fmt.Errorf("gateway %s is outside the subnet %s of address %s", gw, subnet, ipc.address)
		case gw == ipc.address.Addr():
			return fmt.Errorf("address %s is its subnet's gateway", ipc.address)
		}
	}
	for i := range a.routes {
		r := &a.routes[i]
		if !r.Gateway.IsValid() {
			// "If unset, a value in gateway in the ips array may be used."
			r.Gateway = a.gateway(r.Destination.Addr().Is4())
		}
	}
	if c.IsDefaultGateway {
		for _, is4 := range []bool{true, false} {
			gw := a.gateway(is4)
			if !gw.IsValid() || slices.ContainsFunc(a.routes, func(r dataplane.Route) bool {
				return r.Destination.Bits() == 0 && r.Destination.Addr().Is4() == is4
			}) {
				continue
			}
			a.routes = append(a.routes, dataplane.Route{Destination: driver.DefaultRoute(is4), Gateway: gw})
		}
	}
	for _, r := range a.routes {
		if r.Gateway.IsValid() && r.Gateway.Is4() != r.Destination.Addr().Is4() {
			return fmt.Errorf("route to %s: gateway %s is of the other IP version", r.Destination, r.Gateway)
		}
	}
	return nil
}

// gateway returns the first gateway of the family, if any.
func (a *addressing) gateway(is4 bool) netip.Addr {
	for _, ipc := range a.ips {
		if ipc.gateway.IsValid() && ipc.gateway.Is4() == is4 {
			return ipc.gateway
		}
	}
	return netip.Addr{}
}

// addTo adds the addresses, routes and DNS settings to an ADD result, the
// addresses on the interface at index ctrIndex.
func (a *addressing) addTo(res *current.Result, ctrIndex int) {
	for _, ipc := range a.ips {
		res.IPs = append(res.IPs, &current.IPConfig{
			Interface: current.Int(ctrIndex),
			Address:   ipNet(ipc.address),
			Gateway:   ipOrNil(ipc.gateway),
		})
	}
	for _, r := range a.routes {
		res.Routes = append(res.Routes, &types.Route{Dst: ipNet(r.Destination), GW: ipOrNil(r.Gateway), Priority: int(r.Metric)})
	}
	if dnsSet(a.dns) {
		res.DNS = a.dns
	}
}

// prefixOf converts a net.IPNet, keeping the address's host bits. An IPv4
// address may come with a 16-byte mask.
func prefixOf(n net.IPNet) (netip.Prefix, bool) {
	addr, ok := netip.AddrFromSlice(n.IP)
	ones, bits := n.Mask.Size()
	if !ok || bits == 0 {
		return netip.Prefix{}, false
	}
	addr = addr.Unmap()
	if addr.Is4() && bits == 128 {
		if ones < 96 {
			return netip.Prefix{}, false
		}
		ones, bits = ones-96, 32
	}
	if bits != addr.BitLen() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(addr, ones), true
}

func ipNet(p netip.Prefix) net.IPNet {
	return net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func ipOrNil(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return a.AsSlice()
}

func dnsSet(d types.DNS) bool {
	return len(d.Nameservers) > 0 || d.Domain != "" || len(d.Search) > 0 || len(d.Options) > 0
}
