package types

import "net/netip"

// NetavarkOptions is what podman writes to netavark's own stdin for
// `netavark setup` and `netavark teardown`: one container on one or more
// networks. netavark turns each network into a [NetworkPluginExec] for the
// plugin that serves it. Plugins do not receive it; tests that drive a real
// netavark write it.
type NetavarkOptions struct {
	// ContainerID is the container's ID.
	ContainerID string `json:"container_id"`
	// ContainerName is the container's name.
	ContainerName string `json:"container_name"`
	// ContainerHostname is the container's host name.
	ContainerHostname string `json:"container_hostname,omitempty"`
	// DNSServers are DNS servers of the container.
	DNSServers []netip.Addr `json:"dns_servers,omitempty"`
	// PortMappings are the container's published ports.
	PortMappings []PortMapping `json:"port_mappings,omitempty"`
	// Networks maps each network name to the container's settings on it.
	Networks map[string]PerNetworkOptions `json:"networks"`
	// NetworkInfo maps each network name to the network.
	NetworkInfo map[string]Network `json:"network_info"`
}
