package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"example.com/demo/internal/agentapi"
	"example.com/demo/internal/config"
	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/overlay"
)

// Plugin is the Handler of the daemon for a swarm: a global driver, whose
// networks span the hosts over VXLAN, and the IPAM driver of those
// networks (IPAM). It keeps nothing of its own: the networks and the
// endpoints are in etcd, where this host's agent (demo-agent) reads and
// writes them for it, over the agent's socket, as it does for the netavark
// plugin.
//
// In a swarm the managers allocate what is the cluster's, and every host
// sets up what is its own:
//
//   - on the manager, the IPAM driver's pools and addresses (IpamDriver.*
//     in the global address space): each container's address is reserved
//     in etcd, which is what keeps it unique across the hosts, and across
//     several managers; then AllocateNetwork records the network with its
//     VNI, and FreeNetwork deletes it;
//   - on each host, CreateEndpoint records the container's endpoint with
//     the address the manager reserved, and Join makes the network's
//     bridge and VXLAN device if this is its first container here, and the
//     container's veth; Leave removes them, and DeleteEndpoint the record.
//
// The engine moves the veth's container end into the container, as for
// any remote driver.
type Plugin struct {
	// Driver attaches and detaches the endpoints.
	Driver *driver.Driver
	cfg    config.Config
	agent  *agentapi.Client
	log    *slog.Logger
}

// NewPlugin returns the Plugin of this host's configuration, which calls
// the agent at cfg.AgentSocket and logs to log.
func NewPlugin(cfg config.Config, log *slog.Logger) *Plugin {
	return &Plugin{Driver: driver.New(cfg.LockDir), cfg: cfg, agent: agentapi.NewClient(cfg.AgentSocket), log: log}
}

// networkOptions are the options of docker network create -o, besides
// agentapi.OptVNI: the bridge is named after the VNI, and the engine makes the
// routes.
var networkOptions = []string{driver.OptMTU, driver.OptIsolate, driver.OptFirewall}

// callTimeout bounds a call's work with the agent, and the agent's with
// etcd.
const callTimeout = 30 * time.Second

// Capabilities reports a global driver: its networks are the swarm's, and
// connect containers across hosts.
func (p *Plugin) Capabilities() CapabilitiesResponse {
	return CapabilitiesResponse{Scope: ScopeGlobal, ConnectivityScope: ScopeGlobal}
}

// AllocateNetwork records the network in the cluster, on the manager: it
// takes a VNI that no other network has, and checks its subnets against
// every other network's. The VNI goes back to the engine among the
// network's options, which every host's CreateNetwork gets.
func (p *Plugin) AllocateNetwork(ctx context.Context, req AllocateNetworkRequest) (AllocateNetworkResponse, error) {
	spec, err := parseAllocation(req)
	if err != nil {
		return AllocateNetworkResponse{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	n, err := p.agent.CreateNetwork(ctx, spec)
	if err != nil {
		return AllocateNetworkResponse{}, err
	}
	p.log.Info("network allocated", "network", n.Name, "vni", n.VNI, "subnets", n.Subnets)
	return AllocateNetworkResponse{Options: map[string]string{agentapi.OptVNI: strconv.FormatUint(uint64(n.VNI), 10)}}, nil
}

// parseAllocation validates an AllocateNetwork request and returns the
// network to record in the cluster: named by its ID, with the user's
// options, its VNI apart, and its pools with their gateways.
func parseAllocation(req AllocateNetworkRequest) (agentapi.Network, error) {
	if req.NetworkID == "" {
		return agentapi.Network{}, errors.New("missing NetworkID")
	}
	opts := maps.Clone(req.Options)
	maps.DeleteFunc(opts, func(k, _ string) bool { return strings.HasPrefix(k, "com.docker.") })
	vni, err := agentapi.ParseVNI(opts[agentapi.OptVNI])
	if err != nil {
		return agentapi.Network{}, err
	}
	delete(opts, agentapi.OptVNI)
	if _, err := driver.ParseSettings(opts, networkOptions...); err != nil {
		return agentapi.Network{}, err
	}
	spec := agentapi.Network{Name: req.NetworkID, VNI: vni, Options: opts}
	for _, pool := range slices.Concat(req.IPv4Data, req.IPv6Data) {
		s := agentapi.Subnet{Prefix: pool.Pool.Masked(), Gateway: pool.Gateway.Addr()}
		if s.Gateway.IsValid() && !s.Prefix.Contains(s.Gateway) {
			return agentapi.Network{}, fmt.Errorf("gateway %s is outside its pool %s", s.Gateway, s.Prefix)
		}
		spec.Subnets = append(spec.Subnets, s)
	}
	if len(spec.Subnets) == 0 {
		return agentapi.Network{}, errors.New("network has no subnet: give it one (docker network create --subnet)")
	}
	return spec, nil
}

// FreeNetwork deletes the network from the cluster, on the manager, which
// frees its VNI and subnets.
func (p *Plugin) FreeNetwork(ctx context.Context, req FreeNetworkRequest) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := p.agent.DeleteNetwork(ctx, req.NetworkID); err != nil {
		return err
	}
	p.log.Info("network freed", "network", req.NetworkID)
	return nil
}

// CreateNetwork checks, on a host that is to run the network's first
// container here, that the network is the cluster's, with the VNI that
// AllocateNetwork gave it. The bridge and VXLAN device are made by the
// first Join.
func (p *Plugin) CreateNetwork(ctx context.Context, req CreateNetworkRequest) error {
	opts, err := genericOptions(req.Options[OptionGeneric])
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	n, err := p.agent.Network(ctx, req.NetworkID)
	if err != nil {
		return fmt.Errorf("network %s: %w (a network of this driver is the swarm's: create it on a manager, with --attachable to run containers on it)", req.NetworkID, err)
	}
	if v := opts[agentapi.OptVNI]; v != strconv.FormatUint(uint64(n.VNI), 10) {
		return fmt.Errorf("network %s has VNI %d in the cluster, but the engine gives it %q", n.Name, n.VNI, v)
	}
	p.log.Info("network created", "network", n.Name, "vni", n.VNI)
	return nil
}

// genericOptions returns the user's options of a CreateNetwork request,
// OptionGeneric's value.
func genericOptions(v any) (map[string]string, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: want an object of options, got %T", OptionGeneric, v)
	}
	opts := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("network option %s: want a string, got %T", k, v)
		}
		opts[k] = s
	}
	return opts, nil
}

// DeleteNetwork has nothing to do: the bridge and VXLAN device went with
// the network's last Leave on this host, and the network stays the
// cluster's until FreeNetwork.
func (p *Plugin) DeleteNetwork(context.Context, DeleteNetworkRequest) error { return nil }

// CreateEndpoint records the endpoint in the cluster, with the addresses
// that the manager reserved for it and its MAC, the engine's or one derived
// from its ID, so that the other hosts can reach it once it joins.
func (p *Plugin) CreateEndpoint(ctx context.Context, req CreateEndpointRequest) (CreateEndpointResponse, error) {
	if req.EndpointID == "" {
		return CreateEndpointResponse{}, errors.New("missing EndpointID")
	}
	var iface EndpointInterface
	if req.Interface != nil {
		iface = *req.Interface
	}
	spec := agentapi.AttachRequest{Network: req.NetworkID, Key: req.EndpointID, Reserved: true}
	for _, a := range []netip.Prefix{iface.Address, iface.AddressIPv6} {
		if a.IsValid() {
			spec.Addresses = append(spec.Addresses, a)
		}
	}
	if len(spec.Addresses) == 0 {
		return CreateEndpointResponse{}, fmt.Errorf("endpoint %s: the engine gave it no address: the networks of this driver take their addresses from its IPAM driver (--ipam-driver)", req.EndpointID)
	}
	var answer CreateEndpointResponse
	if iface.MacAddress != "" {
		mac, err := net.ParseMAC(iface.MacAddress)
		if err != nil {
			return CreateEndpointResponse{}, fmt.Errorf("endpoint %s: %w", req.EndpointID, err)
		}
		spec.MAC = mac.String()
	} else {
		spec.MAC = dataplane.KeyMAC(req.EndpointID).String()
		answer.Interface = &EndpointInterface{MacAddress: spec.MAC}
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	ep, err := p.agent.Attach(ctx, spec)
	if err != nil {
		return CreateEndpointResponse{}, fmt.Errorf("endpoint %s: %w", req.EndpointID, err)
	}
	p.log.Info("endpoint created", "network", req.NetworkID, "endpoint", req.EndpointID, "addresses", ep.Endpoint.Addresses)
	return answer, nil
}

// EndpointOperInfo describes the endpoint for docker inspect.
func (p *Plugin) EndpointOperInfo(_ context.Context, req EndpointRequest) (EndpointOperInfoResponse, error) {
	return EndpointOperInfoResponse{Value: map[string]any{"host_interface": hostIfName(req)}}, nil
}

// DeleteEndpoint removes the endpoint's record from the cluster; its
// addresses stay reserved until the manager releases them. An endpoint
// that is not recorded is no error.
func (p *Plugin) DeleteEndpoint(ctx context.Context, req EndpointRequest) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := p.agent.Detach(ctx, req.NetworkID, req.EndpointID); err != nil {
		return fmt.Errorf("endpoint %s: %w", req.EndpointID, err)
	}
	p.log.Info("endpoint deleted", "network", req.NetworkID, "endpoint", req.EndpointID)
	return nil
}

// segment is a network of the cluster as this host sets it up.
type segment struct {
	net driver.Network
	vni uint32
}

// segment returns the network id of the cluster, validated, with the
// bridge and VXLAN device of its VNI.
func (p *Plugin) segment(ctx context.Context, id string) (segment, error) {
	n, err := p.agent.Network(ctx, id)
	if err != nil {
		return segment{}, err
	}
	s, err := driver.ParseSettings(n.Options, networkOptions...)
	if err != nil {
		return segment{}, fmt.Errorf("network %s: %w", id, err)
	}
	var subnets []driver.Subnet
	for _, sub := range n.Subnets {
		gw := sub.Gateway
		if !gw.IsValid() {
			gw = driver.FirstHost(sub.Prefix)
		}
		subnets = append(subnets, driver.Subnet{Prefix: sub.Prefix, Gateway: gw})
	}
	dn, err := driver.NewNetwork(id[:min(len(id), 12)], s, overlay.BridgeName(n.VNI), subnets, false)
	if err != nil {
		return segment{}, fmt.Errorf("network %s: %w", id, err)
	}
	dn.Bridge.Uplink = overlay.VXLANName(n.VNI)
	return segment{net: dn, vni: n.VNI}, nil
}

// container returns the endpoint's veth as the driver attaches it: its
// container end stays on the host for the engine to move.
func (seg segment) container(ep agentapi.Endpoint, req EndpointRequest) (driver.Container, error) {
	mac, err := net.ParseMAC(ep.MAC)
	if err != nil {
		return driver.Container{}, fmt.Errorf("endpoint %s: %w", ep.Key, err)
	}
	return driver.Container{
		ID:   req.EndpointID,
		Name: "endpoint " + req.EndpointID[:min(len(req.EndpointID), 12)],
		Link: dataplane.Attachment{
			IfName:     containerIfName(req),
			HostIfName: hostIfName(req),
			MAC:        mac,
			MTU:        seg.net.Bridge.MTU,
			Addresses:  ep.Addresses,
		},
	}, nil
}

// hostIfName and containerIfName name the endpoint's veth: its host end, a
// port of the bridge, and its container end until the engine moves and
// renames it.
func hostIfName(req EndpointRequest) string {
	return dataplane.HostIfName(req.NetworkID + "/" + req.EndpointID)
}

func containerIfName(req EndpointRequest) string {
	return dataplane.HostIfName(req.NetworkID + "/" + req.EndpointID + "/container")
}

// Join attaches the endpoint on this host, with the bridge's lock held:
// the network's bridge and VXLAN device, then the endpoint's veth, then the
// network's endpoints of the other hosts on the VXLAN device, which the
// agent reads after the device exists (see the netavark plugin's setup).
// If a step fails, what it made is removed.
func (p *Plugin) Join(ctx context.Context, req JoinRequest) (JoinResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	er := EndpointRequest{NetworkID: req.NetworkID, EndpointID: req.EndpointID}
	seg, err := p.segment(ctx, req.NetworkID)
	if err != nil {
		return JoinResponse{}, err
	}
	if err := overlay.CheckVTEP(p.cfg.VTEP, p.cfg.Device); err != nil {
		return JoinResponse{}, fmt.Errorf("%w (\"vtep\" in %s)", err, config.Path())
	}
	ep, found, err := p.agent.Endpoint(ctx, req.NetworkID, req.EndpointID)
	if err == nil && !found {
		err = errors.New("no record in the cluster: CreateEndpoint made none")
	}
	if err != nil {
		return JoinResponse{}, fmt.Errorf("join endpoint %s: %w", req.EndpointID, err)
	}
	err = p.Driver.Locked(seg.net.Bridge.Name, func(s *driver.Session) error {
		return p.attach(ctx, s, &seg, ep, er)
	})
	if err != nil {
		return JoinResponse{}, fmt.Errorf("join endpoint %s to network %s: %w", req.EndpointID, req.NetworkID, err)
	}
	p.log.Info("joined", "network", req.NetworkID, "endpoint", req.EndpointID, "vni", seg.vni,
		"veth", hostIfName(er), "addresses", ep.Addresses)
	resp := JoinResponse{InterfaceName: &InterfaceName{SrcName: containerIfName(er), DstPrefix: "eth"}}
	for _, sub := range seg.net.Subnets {
		switch {
		case sub.Gateway.Is4() && !resp.Gateway.IsValid():
			resp.Gateway = sub.Gateway
		case sub.Gateway.Is6() && !resp.GatewayIPv6.IsValid():
			resp.GatewayIPv6 = sub.Gateway
		}
	}
	return resp, nil
}

// attach is Join's work with the session of seg's bridge held.
func (p *Plugin) attach(ctx context.Context, s *driver.Session, seg *segment, ep agentapi.Endpoint, req EndpointRequest) (err error) {
	c, err := seg.container(ep, req)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Detach(seg.net, c))
		}
	}()
	br, err := overlay.Ensure(overlay.Segment{
		VNI: seg.vni, VTEP: p.cfg.VTEP, Device: p.cfg.Device, MTU: seg.net.Bridge.MTU,
		Gateways: seg.net.Bridge.Gateways, Owner: seg.net.Bridge.Owner,
	})
	if err != nil {
		return err
	}
	seg.net.Bridge, c.Link.MTU = br, br.MTU
	// Attach of a recorded endpoint returns it as it is, with the
	// network's endpoints read now, after the device exists.
	att, err := p.agent.Attach(ctx, agentapi.AttachRequest{Network: ep.Network, Key: ep.Key, MAC: ep.MAC, Addresses: ep.Addresses, Reserved: ep.Reserved})
	if err != nil {
		return err
	}
	if _, err := s.Attach(seg.net, c); err != nil {
		return err
	}
	return overlay.Sync(seg.vni, overlay.Peers(att.Endpoints))
}

// Leave removes the endpoint's veth, and with the network's last one on
// this host its bridge and VXLAN device. It succeeds when there is
// nothing to remove.
func (p *Plugin) Leave(ctx context.Context, req EndpointRequest) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	seg, err := p.segment(ctx, req.NetworkID)
	if err != nil {
		return err
	}
	c, err := seg.container(agentapi.Endpoint{Key: req.EndpointID, MAC: dataplane.KeyMAC(req.EndpointID).String()}, req)
	if err != nil {
		return err
	}
	err = p.Driver.Locked(seg.net.Bridge.Name, func(s *driver.Session) error { return s.Detach(seg.net, c) })
	if err != nil {
		return fmt.Errorf("leave endpoint %s of network %s: %w", req.EndpointID, req.NetworkID, err)
	}
	p.log.Info("left", "network", req.NetworkID, "endpoint", req.EndpointID)
	return nil
}

// DiscoverNew and DiscoverDelete have nothing to do: the hosts find each
// other in etcd.
func (p *Plugin) DiscoverNew(context.Context, DiscoveryNotification) error    { return nil }
func (p *Plugin) DiscoverDelete(context.Context, DiscoveryNotification) error { return nil }

// ProgramExternalConnectivity and RevokeExternalConnectivity are not
// implemented: published ports of a swarm network are the routing mesh's
// (docker service create -p), which this driver does not serve.
func (p *Plugin) ProgramExternalConnectivity(context.Context, ExternalConnectivityRequest) error {
	return fmt.Errorf("publishing ports: %w", ErrNotImplemented)
}

func (p *Plugin) RevokeExternalConnectivity(context.Context, EndpointRequest) error {
	return fmt.Errorf("withdrawing ports: %w", ErrNotImplemented)
}

// Reserve reserves an address of pool in etcd, for the manager's IPAM.
func (p *Plugin) Reserve(ctx context.Context, pool netip.Prefix, want netip.Addr) (netip.Prefix, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return p.agent.Reserve(ctx, pool, want)
}

// Release frees an address that Reserve reserved.
func (p *Plugin) Release(ctx context.Context, pool netip.Prefix, addr netip.Addr) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return p.agent.Release(ctx, pool, addr)
}
