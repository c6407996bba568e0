package types

import "net/netip"

// StatusBlock is what a plugin prints on stdout after a successful setup.
// The empty object {} is valid.
type StatusBlock struct {
	// Interfaces maps the name of each interface the plugin configured in the
	// container to its addresses.
	Interfaces map[string]NetInterface `json:"interfaces,omitempty"`
	// DNSServerIPs are DNS servers the container should use.
	DNSServerIPs []netip.Addr `json:"dns_server_ips,omitempty"`
	// DNSSearchDomains are DNS search domains the container should use.
	DNSSearchDomains []string `json:"dns_search_domains,omitempty"`
}

// NetInterface is one interface of a container in a [StatusBlock].
type NetInterface struct {
	// MACAddress is the interface's MAC address. The key is required by
	// netavark; its value may be "".
	MACAddress HardwareAddr `json:"mac_address"`
	// Subnets are the addresses of the interface.
	Subnets []NetAddress `json:"subnets,omitempty"`
}

// NetAddress is one address of a container interface.
type NetAddress struct {
	// IPNet is the address with the prefix length of its subnet, for example
	// "10.88.0.5/16".
	IPNet IPNet `json:"ipnet"`
	// Gateway is the gateway of the subnet, if any.
	Gateway netip.Addr `json:"gateway,omitzero"`
}
