// Package docker is the front end of demo for Docker: a daemon that serves
// the remote network driver protocol of the Docker engine (libnetwork's
// "remote" driver) over HTTP ([Server]) and turns each call into one call of
// a [Handler]; [Plugin] is the Handler of a swarm's global driver and IPAM
// driver ([GlobalHandler], [NewGlobalServer]), whose state is in etcd,
// through this host's agent.
//
// The protocol, as dockerd 20.10 and later speak it:
//
//   - every call is POST /Type.Method: Plugin.Activate first, then
//     NetworkDriver.GetCapabilities, NetworkDriver.CreateNetwork and so on;
//   - the engine sends Accept: application/vnd.docker.plugins.v1.2+json and
//     no Content-Type, and calls without arguments come with an empty body,
//     not {};
//   - every answer is JSON: {} for a success with nothing to say,
//     {"Err":"message"} with status 500 for a failure, and status 404 for a
//     call the driver does not implement, which the engine tolerates for
//     ProgramExternalConnectivity and RevokeExternalConnectivity;
//   - the engine finds the driver by its socket, /run/docker/plugins/NAME.sock,
//     or a spec file, /etc/docker/plugins/NAME.spec, and NAME is the driver
//     name of `docker network create -d NAME`.
//
// The wire names are the Go field names of libnetwork's remote API, which
// is why the types below have no JSON tags but for omitting empty values.
package docker

import (
	"context"
	"errors"
	"net/netip"
)

// Handler answers the calls of the Docker remote driver protocol. The
// engine allocates addresses (its IPAM) and moves the container's interface
// into the container itself: a driver keeps networks and endpoints, makes
// the interface at Join and removes it at Leave.
//
// A method may return an error wrapping ErrNotImplemented; the engine is
// then told so with a 404.
type Handler interface {
	// Capabilities tells the engine the driver's scope.
	Capabilities() CapabilitiesResponse
	// CreateNetwork records a new network. It is called once per
	// `docker network create`.
	CreateNetwork(ctx context.Context, req CreateNetworkRequest) error
	// DeleteNetwork forgets a network; the engine has removed its endpoints
	// first. It must succeed for a network it does not know.
	DeleteNetwork(ctx context.Context, req DeleteNetworkRequest) error
	// CreateEndpoint records a container's endpoint on a network, with the
	// addresses the engine allocated. The response fills in only what the
	// engine left empty.
	CreateEndpoint(ctx context.Context, req CreateEndpointRequest) (CreateEndpointResponse, error)
	// EndpointOperInfo describes an endpoint for docker inspect.
	EndpointOperInfo(ctx context.Context, req EndpointRequest) (EndpointOperInfoResponse, error)
	// DeleteEndpoint forgets an endpoint. It must succeed for an endpoint
	// it does not know: the engine rolls back a failed CreateEndpoint with it.
	DeleteEndpoint(ctx context.Context, req EndpointRequest) error
	// Join makes the endpoint's interface in the host namespace and names
	// it in the response; the engine moves it into the container.
	Join(ctx context.Context, req JoinRequest) (JoinResponse, error)
	// Leave removes what Join made. It must succeed when there is nothing
	// to remove: the engine rolls back a failed Join with it.
	Leave(ctx context.Context, req EndpointRequest) error
	// DiscoverNew and DiscoverDelete tell a driver of nodes and stores
	// coming and going; a local driver has no use for them.
	DiscoverNew(ctx context.Context, req DiscoveryNotification) error
	DiscoverDelete(ctx context.Context, req DiscoveryNotification) error
	// ProgramExternalConnectivity publishes an endpoint's ports
	// (docker run -p) once it has joined; RevokeExternalConnectivity
	// withdraws them before it leaves.
	ProgramExternalConnectivity(ctx context.Context, req ExternalConnectivityRequest) error
	RevokeExternalConnectivity(ctx context.Context, req EndpointRequest) error
}

// ErrNotImplemented marks a call the driver does not implement.
var ErrNotImplemented = errors.New("not implemented")

// Scopes of a driver: a local network exists on one host only.
const (
	ScopeLocal  = "local"
	ScopeGlobal = "global"
)

// ActivateResponse answers Plugin.Activate: the plugin APIs served.
type ActivateResponse struct {
	Implements []string
}

// CapabilitiesResponse answers NetworkDriver.GetCapabilities.
type CapabilitiesResponse struct {
	// Scope is ScopeLocal or ScopeGlobal: where networks are allocated.
	Scope string
	// ConnectivityScope is where the network connects containers; empty
	// means Scope.
	ConnectivityScope string `json:",omitempty"`
}

// IPAMData is one address pool of a network, as the engine's IPAM
// allocated it.
type IPAMData struct {
	AddressSpace string
	// Pool is the subnet, 10.79.0.0/24.
	Pool netip.Prefix
	// Gateway is the gateway with the pool's prefix length, 10.79.0.1/24;
	// the zero Prefix when the network has none.
	Gateway netip.Prefix
	// AuxAddresses are addresses reserved in the pool (--aux-address).
	AuxAddresses map[string]string
}

// Option keys of CreateNetworkRequest.Options set by the engine.
const (
	// OptionGeneric holds the user's options, docker network create -o
	// KEY=VALUE, as a map of strings.
	OptionGeneric = "com.docker.network.generic"
	// OptionInternal is true for docker network create --internal.
	OptionInternal = "com.docker.network.internal"
	// OptionEnableIPv6 is docker network create --ipv6.
	OptionEnableIPv6 = "com.docker.network.enable_ipv6"
	// OptionPortMap holds the ports to publish (docker run -p) in
	// ProgramExternalConnectivity.
	OptionPortMap = "com.docker.network.portmap"
)

// CreateNetworkRequest is the argument of NetworkDriver.CreateNetwork.
type CreateNetworkRequest struct {
	NetworkID string
	// Options are free-form; see the Option constants.
	Options  map[string]any
	IPv4Data []IPAMData
	IPv6Data []IPAMData
}

// DeleteNetworkRequest is the argument of NetworkDriver.DeleteNetwork.
type DeleteNetworkRequest struct {
	NetworkID string
}

// EndpointInterface is an endpoint's interface: the addresses with their
// prefix length, and the MAC address as aa:bb:cc:dd:ee:ff.
type EndpointInterface struct {
	Address     netip.Prefix `json:",omitzero"`
	AddressIPv6 netip.Prefix `json:",omitzero"`
	MacAddress  string       `json:",omitempty"`
}

// CreateEndpointRequest is the argument of NetworkDriver.CreateEndpoint.
type CreateEndpointRequest struct {
	NetworkID  string
	EndpointID string
	// Interface holds what the engine chose; nil when it chose nothing.
	Interface *EndpointInterface
	Options   map[string]any
}

// CreateEndpointResponse answers NetworkDriver.CreateEndpoint. Interface
// holds only values the engine left empty: the engine refuses a driver
// that changes what it chose.
type CreateEndpointResponse struct {
	Interface *EndpointInterface `json:",omitempty"`
}

// EndpointRequest names an endpoint: the argument of EndpointOperInfo,
// DeleteEndpoint, Leave and RevokeExternalConnectivity.
type EndpointRequest struct {
	NetworkID  string
	EndpointID string
}

// EndpointOperInfoResponse answers NetworkDriver.EndpointOperInfo.
type EndpointOperInfoResponse struct {
	Value map[string]any
}

// JoinRequest is the argument of NetworkDriver.Join.
type JoinRequest struct {
	NetworkID  string
	EndpointID string
	// SandboxKey is the path of the container's network namespace.
	SandboxKey string
	Options    map[string]any
}

// InterfaceName tells the engine which host interface to move into the
// container (SrcName) and how to rename it there: DstPrefix and a number,
// eth0.
type InterfaceName struct {
	SrcName   string
	DstPrefix string
}

// Route types of StaticRoute.
const (
	RouteNextHop   = 0
	RouteConnected = 1
)

// StaticRoute is a route the engine adds in the container.
type StaticRoute struct {
	Destination netip.Prefix
	RouteType   int
	NextHop     netip.Addr `json:",omitzero"`
}

// JoinResponse answers NetworkDriver.Join. Without a Gateway the engine
// connects the container to docker_gwbridge for its default route.
type JoinResponse struct {
	InterfaceName         *InterfaceName `json:",omitempty"`
	Gateway               netip.Addr     `json:",omitzero"`
	GatewayIPv6           netip.Addr     `json:",omitzero"`
	StaticRoutes          []StaticRoute  `json:",omitempty"`
	DisableGatewayService bool           `json:",omitempty"`
}

// DiscoveryNotification is the argument of DiscoverNew and DiscoverDelete.
type DiscoveryNotification struct {
	DiscoveryType int
	DiscoveryData any
}

// ExternalConnectivityRequest is the argument of
// NetworkDriver.ProgramExternalConnectivity.
type ExternalConnectivityRequest struct {
	NetworkID  string
	EndpointID string
	Options    map[string]any
}

// ErrorResponse is the body of a failed call.
type ErrorResponse struct {
	Err string
}
