package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"example.com/demo/internal/driver"
)

// The calls of a global driver and of the IPAM driver, which the engine
// makes of a plugin that implements them, in a swarm:
//
//   - NetworkDriver.AllocateNetwork and FreeNetwork, on the manager, once
//     for the swarm, before and after any host's CreateNetwork and
//     DeleteNetwork; the options AllocateNetwork answers come to every
//     host's CreateNetwork, among the user's (OptionGeneric);
//   - IpamDriver.*, on the manager with the global address space (the
//     swarm's addresses), and on each host with the local one, where the
//     engine asks again for the addresses the manager gave, by value.

// GlobalHandler is a Handler of a global driver that allocates its
// networks on the manager, and is its networks' IPAM driver too.
type GlobalHandler interface {
	Handler
	// AllocateNetwork allocates the network for the swarm; FreeNetwork
	// frees it.
	AllocateNetwork(ctx context.Context, req AllocateNetworkRequest) (AllocateNetworkResponse, error)
	FreeNetwork(ctx context.Context, req FreeNetworkRequest) error
	// Reserve and Release reserve and release an address of the network
	// whose subnet is pool, for the manager's IPAM: want, or any free
	// address if it is the zero Addr.
	Reserve(ctx context.Context, pool netip.Prefix, want netip.Addr) (netip.Prefix, error)
	Release(ctx context.Context, pool netip.Prefix, addr netip.Addr) error
}

// AllocateNetworkRequest is the argument of NetworkDriver.AllocateNetwork:
// the user's options (docker network create -o) and the pools that the
// IPAM driver gave.
type AllocateNetworkRequest struct {
	NetworkID string
	Options   map[string]string
	IPv4Data  []IPAMData
	IPv6Data  []IPAMData
}

// AllocateNetworkResponse answers AllocateNetwork: options for every
// host's CreateNetwork.
type AllocateNetworkResponse struct {
	Options map[string]string
}

// FreeNetworkRequest is the argument of NetworkDriver.FreeNetwork.
type FreeNetworkRequest struct {
	NetworkID string
}

// The address spaces of the IPAM driver: the manager's, whose addresses
// are reserved in etcd, and the hosts', which take what the manager gave.
const (
	GlobalAddressSpace = "demo-global"
	LocalAddressSpace  = "demo-local"
)

// OptionRequestAddressType is the option of a RequestAddress that says
// what the address is for; RequestGateway asks for a network's gateway.
const (
	OptionRequestAddressType = "RequestAddressType"
	RequestGateway           = "com.docker.network.gateway"
)

// IPAMCapabilitiesResponse answers IpamDriver.GetCapabilities.
type IPAMCapabilitiesResponse struct {
	RequiresMACAddress bool
}

// AddressSpacesResponse answers IpamDriver.GetDefaultAddressSpaces.
type AddressSpacesResponse struct {
	LocalDefaultAddressSpace  string
	GlobalDefaultAddressSpace string
}

// RequestPoolRequest is the argument of IpamDriver.RequestPool.
type RequestPoolRequest struct {
	AddressSpace string
	// Pool is the subnet asked for (docker network create --subnet),
	// empty for any.
	Pool    string
	SubPool string
	Options map[string]string
	V6      bool
}

// RequestPoolResponse answers IpamDriver.RequestPool.
type RequestPoolResponse struct {
	PoolID string
	Pool   string
	Data   map[string]string `json:",omitempty"`
}

// PoolRequest is the argument of IpamDriver.ReleasePool.
type PoolRequest struct {
	PoolID string
}

// AddressRequest is the argument of IpamDriver.RequestAddress and
// ReleaseAddress: Address is the address asked for or released, without
// prefix length, empty for any.
type AddressRequest struct {
	PoolID  string
	Address string
	Options map[string]string
}

// AddressResponse answers IpamDriver.RequestAddress: the address with its
// pool's prefix length.
type AddressResponse struct {
	Address string
	Data    map[string]string `json:",omitempty"`
}

// NewGlobalServer returns the server of h's calls: those of NewServer, and
// those of a global driver and of an IPAM driver.
func NewGlobalServer(h GlobalHandler, log *slog.Logger) *Server {
	srv := NewServer(h, log)
	srv.implements = append(srv.implements, "IpamDriver")
	ipam := ipamDriver{h}
	for name, c := range map[string]call{
		"NetworkDriver.AllocateNetwork": withAnswer(h.AllocateNetwork),
		"NetworkDriver.FreeNetwork":     withoutAnswer(h.FreeNetwork),
		"IpamDriver.GetCapabilities": func(context.Context, []byte) (any, error) {
			return IPAMCapabilitiesResponse{}, nil
		},
		"IpamDriver.GetDefaultAddressSpaces": func(context.Context, []byte) (any, error) {
			return AddressSpacesResponse{LocalDefaultAddressSpace: LocalAddressSpace, GlobalDefaultAddressSpace: GlobalAddressSpace}, nil
		},
		"IpamDriver.RequestPool":    withAnswer(ipam.requestPool),
		"IpamDriver.ReleasePool":    withoutAnswer(ipam.releasePool),
		"IpamDriver.RequestAddress": withAnswer(ipam.requestAddress),
		"IpamDriver.ReleaseAddress": withoutAnswer(ipam.releaseAddress),
	} {
		srv.calls["/"+name] = c
	}
	return srv
}

// ipamDriver answers the IPAM calls. A pool's ID is its address space and
// its subnet, SPACE/SUBNET: a pool is known by its subnet alone, since the
// subnets of the cluster's networks never overlap, and the network it is a
// subnet of is recorded (AllocateNetwork) after the engine asks for it.
type ipamDriver struct {
	h GlobalHandler
}

// requestPool answers the subnet asked for: the driver does not choose
// subnets, and AllocateNetwork checks them against the cluster's.
func (d ipamDriver) requestPool(_ context.Context, req RequestPoolRequest) (RequestPoolResponse, error) {
	if req.AddressSpace != GlobalAddressSpace && req.AddressSpace != LocalAddressSpace {
		return RequestPoolResponse{}, fmt.Errorf("unknown address space %q: want %s or %s", req.AddressSpace, GlobalAddressSpace, LocalAddressSpace)
	}
	if req.Pool == "" {
		family := "IPv4"
		if req.V6 {
			family = "IPv6"
		}
		return RequestPoolResponse{}, fmt.Errorf("no %s subnet asked for: give the network one (docker network create --subnet), from which the driver allocates the containers' addresses in etcd", family)
	}
	if req.SubPool != "" {
		return RequestPoolResponse{}, errors.New("--ip-range is not supported: the addresses of the whole subnet are allocated")
	}
	pool, err := netip.ParsePrefix(req.Pool)
	if err != nil {
		return RequestPoolResponse{}, fmt.Errorf("pool %q: %w", req.Pool, err)
	}
	if pool.Addr().Is6() != req.V6 {
		return RequestPoolResponse{}, fmt.Errorf("pool %s is not of the family asked for", pool)
	}
	pool = pool.Masked()
	return RequestPoolResponse{PoolID: req.AddressSpace + "/" + pool.String(), Pool: pool.String()}, nil
}

// releasePool has nothing to free: FreeNetwork frees the subnets.
func (d ipamDriver) releasePool(_ context.Context, req PoolRequest) error {
	_, _, err := parsePoolID(req.PoolID)
	return err
}

// requestAddress gives the address asked for, or any: a network's gateway
// is not reserved (no endpoint gets it); on the manager an endpoint's
// address is reserved in etcd; on a host it is the one that the manager
// reserved, which the engine asks for by value.
func (d ipamDriver) requestAddress(ctx context.Context, req AddressRequest) (AddressResponse, error) {
	space, pool, err := parsePoolID(req.PoolID)
	if err != nil {
		return AddressResponse{}, err
	}
	var want netip.Addr
	if req.Address != "" {
		if want, err = netip.ParseAddr(req.Address); err != nil {
			return AddressResponse{}, fmt.Errorf("address %q: %w", req.Address, err)
		}
		if !pool.Contains(want) {
			return AddressResponse{}, fmt.Errorf("address %s is outside pool %s", want, pool)
		}
	}
	var addr netip.Prefix
	switch {
	case req.Options[OptionRequestAddressType] == RequestGateway:
		if !want.IsValid() {
			want = driver.FirstHost(pool)
		}
		addr = netip.PrefixFrom(want, pool.Bits())
	case space == LocalAddressSpace:
		if !want.IsValid() {
			return AddressResponse{}, fmt.Errorf("pool %s: an address of a host's endpoint is the manager's to give; ask for it by value", pool)
		}
		addr = netip.PrefixFrom(want, pool.Bits())
	default:
		if addr, err = d.h.Reserve(ctx, pool, want); err != nil {
			return AddressResponse{}, err
		}
	}
	return AddressResponse{Address: addr.String()}, nil
}

// releaseAddress frees on the manager an address that requestAddress
// reserved; the others were not.
func (d ipamDriver) releaseAddress(ctx context.Context, req AddressRequest) error {
	space, pool, err := parsePoolID(req.PoolID)
	if err != nil {
		return err
	}
	addr, err := netip.ParseAddr(req.Address)
	if err != nil {
		return fmt.Errorf("address %q: %w", req.Address, err)
	}
	if space == LocalAddressSpace {
		return nil
	}
	return d.h.Release(ctx, pool, addr)
}

// parsePoolID returns the address space and the subnet of a pool ID.
func parsePoolID(id string) (string, netip.Prefix, error) {
	space, subnet, _ := strings.Cut(id, "/")
	pool, err := netip.ParsePrefix(subnet)
	if err != nil || (space != GlobalAddressSpace && space != LocalAddressSpace) {
		return "", netip.Prefix{}, fmt.Errorf("pool ID %q: not one of this driver's", id)
	}
	return space, pool, nil
}
