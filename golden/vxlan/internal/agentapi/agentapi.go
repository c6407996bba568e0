// Package agentapi is what the plugin and this host's agent say to each
// other over the agent's unix socket: the cluster's records (Network,
// Subnet, Endpoint, which package cluster keeps in etcd as they are here),
// the requests and answers of the plugin's calls, and the plugin's Client.
//
// The plugin, which netavark runs twice for each container, never talks
// to etcd itself: the agent holds the connection to etcd and the host's
// lease, and answers the plugin's few calls, as JSON over HTTP on its
// socket. So the plugin links the standard library's net/http only, and
// starts as fast as a plain Go program.
//
// The calls are POSTs of a JSON request that answer 200 with a JSON answer,
// or another status with an Error:
//
//	/v1/networks/create   Network         -> Network
//	/v1/endpoints/attach  AttachRequest   -> AttachResponse
//	/v1/endpoints/get     EndpointRequest -> EndpointResponse
//	/v1/endpoints/detach  EndpointRequest -> {}
package agentapi

import (
	"fmt"
	"net/netip"
	"strconv"
)

// DefaultSocket is where the agent serves, unless configured otherwise
// ("agent_socket" in the configuration file).
const DefaultSocket = "/run/demo/agent.sock"

// MaxVNI is the largest VXLAN network identifier.
const MaxVNI = 1<<24 - 1

// OptVNI is the network option that asks for a VXLAN network identifier
// (podman network create -o vni=N); without
// it the network gets a free one.
const OptVNI = "vni"

// ParseVNI parses the value of OptVNI; "" is 0, which asks for any free
// VNI.
func ParseVNI(s string) (uint32, error) {
	if s == "" {
		return 0, nil
	}
	vni, err := strconv.ParseUint(s, 10, 32)
	if err != nil || vni == 0 || vni > MaxVNI {
		return 0, fmt.Errorf("invalid %s %q: want a number from 1 to %d", OptVNI, s, MaxVNI)
	}
	return uint32(vni), nil
}

// The paths of the calls.
const (
	PathCreateNetwork = "/v1/networks/create"
	PathAttach        = "/v1/endpoints/attach"
	PathEndpoint      = "/v1/endpoints/get"
	PathDetach        = "/v1/endpoints/detach"
)

// Network is a network of the cluster: one VXLAN segment, the same on
// every host.
type Network struct {
	Name string `json:"name"`
	// ID is netavark's network ID.
	ID string `json:"id,omitempty"`
	// VNI is the VXLAN network identifier, unique in the cluster.
	VNI     uint32            `json:"vni"`
	Subnets []Subnet          `json:"subnets,omitempty"`
	Options map[string]string `json:"options,omitempty"`
}

// Subnet is a subnet of a network, which no other network of the cluster
// overlaps.
type Subnet struct {
	Prefix netip.Prefix `json:"prefix"`
	// Gateway is never given to an endpoint; the zero Addr is no gateway.
	Gateway netip.Addr `json:"gateway,omitzero"`
}

// Endpoint is a container's interface on a network: what the other hosts
// need to reach it.
type Endpoint struct {
	Network string `json:"network"`
	Host    string `json:"host"`
	// Key names the endpoint on its host: the container's ID and the
	// interface's name, for example.
	Key string `json:"key"`
	// VTEP is the host's underlay address.
	VTEP      netip.Addr     `json:"vtep"`
	MAC       string         `json:"mac,omitempty"`
	Addresses []netip.Prefix `json:"addresses,omitempty"`
}

// AttachRequest asks the agent to record an endpoint of its host, with its
// host's name, VTEP and lease, and to give it its addresses: Addresses if
// any (they must be free), else the first free address of each subnet.
type AttachRequest struct {
	Network   string         `json:"network"`
	Key       string         `json:"key"`
	MAC       string         `json:"mac,omitempty"`
	Addresses []netip.Prefix `json:"addresses,omitempty"`
}

// AttachResponse is the endpoint recorded, with its addresses, and the
// network's endpoints on every host (this one's among them) read after it
// was: the entries of the network's VXLAN device.
type AttachResponse struct {
	Endpoint  Endpoint   `json:"endpoint"`
	Endpoints []Endpoint `json:"endpoints"`
}

// EndpointRequest names an endpoint of the agent's host.
type EndpointRequest struct {
	Network string `json:"network"`
	Key     string `json:"key"`
}

// EndpointResponse is the endpoint asked for, or Found false.
type EndpointResponse struct {
	Found    bool     `json:"found"`
	Endpoint Endpoint `json:"endpoint,omitzero"`
}

// Error is the answer of a call that failed.
type Error struct {
	Error string `json:"error"`
}
