package types

import "net/netip"

// NetworkPluginExec is what netavark writes to a plugin's stdin for setup and
// teardown: one container on one network.
type NetworkPluginExec struct {
	// ContainerID is the container's ID.
	ContainerID string `json:"container_id"`
	// ContainerName is the container's name.
	ContainerName string `json:"container_name"`
	// PortMappings are the container's published ports (podman run -p).
	PortMappings []PortMapping `json:"port_mappings,omitempty"`
	// Network is the network the container joins or leaves.
	Network Network `json:"network"`
	// NetworkOptions are the container's settings on this network.
	NetworkOptions PerNetworkOptions `json:"network_options"`
}

// PerNetworkOptions are a container's settings on one network.
type PerNetworkOptions struct {
	// StaticIPs are the container's addresses, at most one per subnet. podman
	// allocates them when the network's IPAM driver is host-local.
	StaticIPs []netip.Addr `json:"static_ips,omitempty"`
	// Aliases are DNS names of the container on this network.
	Aliases []string `json:"aliases,omitempty"`
	// StaticMAC is the MAC address to give the container's interface.
	StaticMAC HardwareAddr `json:"static_mac,omitempty"`
	// InterfaceName is the name of the interface in the container, for
	// example "eth0".
	InterfaceName string `json:"interface_name"`
	// Options are per-container driver options (podman run --network
	// name:key=value), sent by netavark 1.14 and later.
	Options map[string]string `json:"options,omitempty"`
}

// PortMapping is one published port range of a container. netavark always
// sends all five keys.
type PortMapping struct {
	// HostIP is the host address to bind, or "" for all addresses.
	HostIP string `json:"host_ip"`
	// ContainerPort is the first port in the container.
	ContainerPort uint16 `json:"container_port"`
	// HostPort is the first port on the host.
	HostPort uint16 `json:"host_port"`
	// Range is the number of consecutive ports mapped, at least 1.
	Range uint16 `json:"range"`
	// Protocol is "tcp", "udp", "sctp" or several of them joined by commas.
	Protocol string `json:"protocol"`
}
