package types

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"time"
)

// Network is a podman network as netavark hands it to a plugin: the input and
// the output of create, and part of every setup and teardown request.
type Network struct {
	// Name is the network's name; create must return it unchanged.
	Name string `json:"name"`
	// ID is the network's ID, 64 hex characters when podman made it; create
	// must return it unchanged.
	ID string `json:"id"`
	// Driver is the name of the plugin that serves this network (its file
	// name in a netavark plugin directory); create must return it unchanged.
	Driver string `json:"driver"`
	// NetworkInterface is the name of the host interface of the network, for
	// example the bridge, if the driver has one.
	NetworkInterface string `json:"network_interface,omitempty"`
	// Created is when podman created the network (RFC 3339). podman's create
	// sends the zero time; netavark 1.x drops the key.
	Created *time.Time `json:"created,omitempty"`
	// Subnets are the networks' subnets, each with an optional gateway and
	// lease range.
	Subnets []Subnet `json:"subnets,omitempty"`
	// Routes are static routes to set in containers on this network.
	Routes []Route `json:"routes,omitempty"`
	// IPv6Enabled is true when the network has an IPv6 subnet.
	IPv6Enabled bool `json:"ipv6_enabled"`
	// Internal is true when the network has no route to the outside: no
	// default route is set in containers.
	Internal bool `json:"internal"`
	// DNSEnabled asks for aardvark-dns. Plugins never get it, so a plugin
	// without its own DNS returns false from create.
	DNSEnabled bool `json:"dns_enabled"`
	// NetworkDNSServers are DNS servers to use for this network.
	NetworkDNSServers []netip.Addr `json:"network_dns_servers,omitempty"`
	// Labels are the user's labels of the network (podman network create
	// --label). netavark 1.x drops them.
	Labels map[string]string `json:"labels,omitempty"`
	// Options are the driver's options (podman network create -o key=value);
	// the plugin validates them in create.
	Options map[string]string `json:"options,omitempty"`
	// IPAMOptions configure address allocation. The key "driver" is
	// "host-local" (podman allocates and sends static_ips), "dhcp" or "none".
	IPAMOptions map[string]string `json:"ipam_options,omitempty"`

	// Extra holds the keys of the JSON object that this type does not model,
	// so that a network decoded and encoded again keeps them, as create must.
	Extra map[string]json.RawMessage `json:"-"`
}

// network has Network's fields without its methods, for the default codec.
type network Network

// networkKeys are the JSON keys that Network models.
var networkKeys = jsonKeys(reflect.TypeFor[network]())

// MarshalJSON encodes n, with the keys of n.Extra that n does not model.
func (n Network) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(network(n))
	if err != nil || len(n.Extra) == 0 {
		return b, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	for k, v := range n.Extra {
		if _, known := networkKeys[k]; !known {
			fields[k] = v
		}
	}
	return json.Marshal(fields)
}

// UnmarshalJSON decodes a network, keeping the keys it does not model in
// n.Extra. A JSON null leaves n unchanged.
func (n *Network) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(data, (*network)(n)); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	n.Extra = nil
	for k, v := range fields {
		if _, known := networkKeys[k]; known {
			continue
		}
		if n.Extra == nil {
			n.Extra = make(map[string]json.RawMessage)
		}
		n.Extra[k] = v
	}
	return nil
}

// jsonKeys returns the JSON object keys of the fields of struct type t.
func jsonKeys(t reflect.Type) map[string]struct{} {
	keys := make(map[string]struct{}, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "-" && f.IsExported() {
			if name == "" {
				name = f.Name
			}
			keys[name] = struct{}{}
		}
	}
	return keys
}

// Subnet is one subnet of a network.
type Subnet struct {
	// Subnet is the subnet in CIDR notation, for example "10.88.0.0/16".
	Subnet IPNet `json:"subnet"`
	// Gateway is the gateway address in the subnet. podman adds one unless
	// the network is internal without DNS.
	Gateway netip.Addr `json:"gateway,omitzero"`
	// LeaseRange limits the addresses that podman allocates in the subnet.
	LeaseRange *LeaseRange `json:"lease_range,omitempty"`
}

// LeaseRange is the range of addresses podman may allocate in a subnet.
type LeaseRange struct {
	// StartIP is the first address of the range.
	StartIP netip.Addr `json:"start_ip,omitzero"`
	// EndIP is the last address of the range.
	EndIP netip.Addr `json:"end_ip,omitzero"`
}

// Route is a static route of a network.
type Route struct {
	// Destination is the destination network in CIDR notation.
	Destination IPNet `json:"destination"`
	// Gateway is the next hop. netavark 1.x always sends it; 2.x omits it
	// for routes of a type other than unicast.
	Gateway netip.Addr `json:"gateway,omitzero"`
	// Metric is the route's metric (priority); lower is preferred.
	Metric *uint32 `json:"metric,omitempty"`
	// RouteType is "unicast" (the default), "blackhole", "unreachable" or
	// "prohibit" (netavark 2.x).
	RouteType string `json:"route_type,omitempty"`
}
