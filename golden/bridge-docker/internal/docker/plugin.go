package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/firewall"
	"example.com/demo/internal/store"
)

// Plugin is the Handler of the daemon: it translates the engine's calls
// into the driver's, the same driver as the netavark plugin's, with the
// same network options and the same lock files, so that the netavark plugin
// and the Docker daemon never race on a bridge they share.
//
// Docker's model differs from netavark's in who does what: the engine
// allocates the addresses and moves the container's interface into the
// container, renames it and configures it there. So Join attaches with no
// netns (the container end stays on the host, unconfigured) and tells the
// engine its name and the gateway. And the engine calls the driver once per
// step (CreateNetwork, CreateEndpoint, Join, ...) with IDs only, so the
// driver keeps what the steps told it in a store that outlives the daemon.
type Plugin struct {
	// Driver attaches and detaches the endpoints.
	Driver *driver.Driver
	store  *store.Store
	log    *slog.Logger
	// mu serialises the calls: each reads and writes several records.
	mu sync.Mutex
}

// Kinds of records in the store.
const (
	kindNetwork  = "networks"
	kindEndpoint = "endpoints"
)

// dockerNetwork is what the driver remembers of a network.
type dockerNetwork struct {
	ID     string `json:"id"`
	Bridge string `json:"bridge"`
	MTU    int    `json:"mtu,omitempty"`
	// Gateways are the bridge's addresses, with their subnet's length.
	Gateways []netip.Prefix `json:"gateways,omitempty"`
	// Internal networks give their containers no default route.
	Internal bool `json:"internal,omitempty"`
	// Subnets are the network's pools.
	Subnets []netip.Prefix `json:"subnets,omitempty"`
	// Isolate is the isolate option; NoFirewall is firewall=none, and
	// NoMasquerade com.docker.network.bridge.enable_ip_masquerade=false.
	Isolate      firewall.Isolation `json:"isolate,omitempty"`
	NoFirewall   bool               `json:"no_firewall,omitempty"`
	NoMasquerade bool               `json:"no_masquerade,omitempty"`
}

// network returns the network for the driver. Docker tells a driver no
// network name: the short ID, as docker network ls shows it, stands for it.
func (n dockerNetwork) network() (driver.Network, error) {
	s := driver.Settings{MTU: n.MTU, Isolate: n.Isolate, Firewall: !n.NoFirewall}
	var subnets []driver.Subnet
	for _, p := range n.Subnets {
		sub := driver.Subnet{Prefix: p}
		if i := slices.IndexFunc(n.Gateways, func(g netip.Prefix) bool { return p.Contains(g.Addr()) }); i >= 0 {
			sub.Gateway = n.Gateways[i].Addr()
		}
		subnets = append(subnets, sub)
	}
	dn, err := driver.NewNetwork(n.ID[:min(len(n.ID), 12)], s, n.Bridge, subnets, n.Internal)
	dn.NoMasquerade = n.NoMasquerade
	return dn, err
}

// dockerEndpoint is what the driver remembers of an endpoint.
type dockerEndpoint struct {
	ID        string         `json:"id"`
	NetworkID string         `json:"network_id"`
	Addresses []netip.Prefix `json:"addresses,omitempty"`
	MAC       string         `json:"mac"`
	// HostIfName is the veth's host end, a port of the bridge; IfName its
	// container end until the engine moves and renames it.
	HostIfName string `json:"host_ifname"`
	IfName     string `json:"ifname"`
	// Joined is set from the start of Join to the end of Leave: while it
	// is, the veth may exist.
	Joined bool `json:"joined,omitempty"`
	// Ports are the ports ProgramExternalConnectivity published, recorded
	// before it publishes them, so that they can be withdrawn.
	Ports []firewall.Port `json:"ports,omitempty"`
}

// endpoint returns network n and its endpoint e for the driver: e's veth,
// whose container end stays on the host (no NetnsPath) for the engine to
// move, its addresses and its published ports.
func (n dockerNetwork) endpoint(e dockerEndpoint) (driver.Network, driver.Container, error) {
	dn, err := n.network()
	if err != nil {
		return driver.Network{}, driver.Container{}, err
	}
	mac, err := net.ParseMAC(e.MAC)
	if err != nil {
		return driver.Network{}, driver.Container{}, fmt.Errorf("endpoint %s: %w", e.ID, err)
	}
	return dn, driver.Container{
		ID:   e.ID,
		Name: "endpoint " + e.ID[:min(len(e.ID), 12)],
		Link: dataplane.Attachment{
			IfName:     e.IfName,
			HostIfName: e.HostIfName,
			MAC:        mac,
			MTU:        dn.Bridge.MTU,
			Addresses:  e.Addresses,
		},
		Ports: e.Ports,
	}, nil
}

// NewPlugin returns a Plugin over d that keeps its state in st and logs to
// log.
func NewPlugin(d *driver.Driver, st *store.Store, log *slog.Logger) *Plugin {
	return &Plugin{Driver: d, store: st, log: log}
}

// optMasquerade is Docker's bridge driver option that turns outbound NAT
// off, for networks whose subnets the host's routers know.
const optMasquerade = "com.docker.network.bridge.enable_ip_masquerade"

// networkOptions are the network options of docker network create -o: those
// of a podman network, less the route metric (the engine makes the routes),
// plus optMasquerade.
var networkOptions = []string{driver.OptBridge, driver.OptMTU, driver.OptIsolate, driver.OptFirewall, optMasquerade}

// Capabilities reports a local driver: its networks exist on this host.
func (d *Plugin) Capabilities() CapabilitiesResponse {
	return CapabilitiesResponse{Scope: ScopeLocal, ConnectivityScope: ScopeLocal}
}

// CreateNetwork validates the network's options and records it. The bridge
// itself is made by the first Join, as the netavark plugin makes it at the
// first setup, and goes with the last Leave.
func (d *Plugin) CreateNetwork(_ context.Context, req CreateNetworkRequest) error {
	n, err := parseDockerNetwork(req)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ids, err := d.store.List(kindNetwork)
	if err != nil {
		return err
	}
	for _, id := range ids {
		other, err := d.network(id)
		if err != nil {
			return err
		}
		if id != n.ID && other.Bridge == n.Bridge {
			return fmt.Errorf("bridge %s is already the bridge of network %s", n.Bridge, id)
		}
	}
	if err := d.store.Put(kindNetwork, n.ID, n); err != nil {
		return err
	}
	d.log.Info("network created", "network", n.ID, "bridge", n.Bridge)
	return nil
}

// parseDockerNetwork validates a CreateNetwork request: the user's options
// as for a podman network, and the engine's pools.
func parseDockerNetwork(req CreateNetworkRequest) (dockerNetwork, error) {
	n := dockerNetwork{ID: req.NetworkID}
	if n.ID == "" {
		return dockerNetwork{}, errors.New("missing NetworkID")
	}
	opts, err := genericOptions(req.Options[OptionGeneric])
	if err != nil {
		return dockerNetwork{}, err
	}
	s, err := driver.ParseSettings(opts, networkOptions...)
	if err != nil {
		return dockerNetwork{}, err
	}
	n.MTU, n.Isolate, n.NoFirewall = s.MTU, s.Isolate, !s.Firewall
	if v := opts[optMasquerade]; v != "" {
		masq, err := strconv.ParseBool(v)
		if err != nil {
			return dockerNetwork{}, fmt.Errorf("invalid %s %q: want true or false", optMasquerade, v)
		}
		n.NoMasquerade = !masq
	}
	n.Bridge = s.Bridge
	if n.Bridge == "" {
		// Docker's own bridge driver names its bridges so, and docker
		// network ls shows the same 12 characters of the ID.
		n.Bridge = driver.DefaultBridge(n.ID[:min(len(n.ID), 12)])
	}
	n.Internal, _ = req.Options[OptionInternal].(bool)
	for _, pool := range slices.Concat(req.IPv4Data, req.IPv6Data) {
		if pool.Pool.IsValid() {
			n.Subnets = append(n.Subnets, pool.Pool.Masked())
		}
		gw := pool.Gateway
		if !gw.IsValid() {
			continue
		}
		if pool.Pool.IsValid() && !pool.Pool.Masked().Contains(gw.Addr()) {
			return dockerNetwork{}, fmt.Errorf("gateway %s is outside its pool %s", gw, pool.Pool)
		}
		n.Gateways = append(n.Gateways, gw)
	}
	// What the driver would refuse of the network is refused now.
	if _, err := n.network(); err != nil {
		return dockerNetwork{}, err
	}
	return n, nil
}

// genericOptions returns the user's options, which the engine passes as a
// JSON object of strings.
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

// DeleteNetwork forgets the network, and removes any endpoint the engine
// left behind.
func (d *Plugin) DeleteNetwork(_ context.Context, req DeleteNetworkRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.network(req.NetworkID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ids, err := d.store.List(kindEndpoint)
	if err != nil {
		return err
	}
	for _, id := range ids {
		ep, err := d.endpoint(id)
		if errors.Is(err, store.ErrCorrupt) {
			// Its veth, if it was this network's, goes by its name.
			ep, err = joinedEndpoint(n.ID, id), nil
		}
		if err != nil {
			return err
		}
		if ep.NetworkID == n.ID {
			if err := d.deleteEndpoint(n, ep); err != nil {
				return err
			}
		}
	}
	if err := d.store.Delete(kindNetwork, n.ID); err != nil {
		return err
	}
	d.log.Info("network deleted", "network", n.ID)
	return nil
}

// CreateEndpoint records the endpoint with the addresses the engine
// allocated, and chooses a MAC address if the engine chose none.
func (d *Plugin) CreateEndpoint(_ context.Context, req CreateEndpointRequest) (CreateEndpointResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.network(req.NetworkID)
	if err != nil {
		return CreateEndpointResponse{}, err
	}
	if req.EndpointID == "" {
		return CreateEndpointResponse{}, errors.New("missing EndpointID")
	}
	var iface EndpointInterface
	if req.Interface != nil {
		iface = *req.Interface
	}
	ep := newEndpoint(n.ID, req.EndpointID)
	for _, a := range []netip.Prefix{iface.Address, iface.AddressIPv6} {
		if a.IsValid() {
			ep.Addresses = append(ep.Addresses, a)
		}
	}
	var answer CreateEndpointResponse
	if iface.MacAddress != "" {
		mac, err := net.ParseMAC(iface.MacAddress)
		if err != nil {
			return CreateEndpointResponse{}, fmt.Errorf("endpoint %s: %w", ep.ID, err)
		}
		ep.MAC = mac.String()
	} else {
		answer.Interface = &EndpointInterface{MacAddress: ep.MAC}
	}
	if err := d.store.Put(kindEndpoint, ep.ID, ep); err != nil {
		return CreateEndpointResponse{}, err
	}
	d.log.Info("endpoint created", "network", n.ID, "endpoint", ep.ID, "addresses", ep.Addresses)
	return answer, nil
}

// newEndpoint returns endpoint id of network networkID as far as the IDs
// make it: the names of its veth's ends, and its MAC address unless the
// engine chooses one. Both ends of the veth are on the host until the
// engine moves one, so both need names unique on the host.
func newEndpoint(networkID, id string) dockerEndpoint {
	return dockerEndpoint{
		ID:         id,
		NetworkID:  networkID,
		MAC:        dataplane.KeyMAC(id).String(),
		HostIfName: dataplane.HostIfName(networkID + "/" + id),
		IfName:     dataplane.HostIfName(networkID + "/" + id + "/container"),
	}
}

// joinedEndpoint is newEndpoint, joined: an endpoint whose record is lost,
// whose veth may exist.
func joinedEndpoint(networkID, id string) dockerEndpoint {
	ep := newEndpoint(networkID, id)
	ep.Joined = true
	return ep
}

// EndpointOperInfo describes the endpoint's host side.
func (d *Plugin) EndpointOperInfo(_ context.Context, req EndpointRequest) (EndpointOperInfoResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep, err := d.endpoint(req.EndpointID)
	if err != nil {
		return EndpointOperInfoResponse{}, err
	}
	n, err := d.network(ep.NetworkID)
	if err != nil {
		return EndpointOperInfoResponse{}, err
	}
	return EndpointOperInfoResponse{Value: map[string]any{
		"bridge":         n.Bridge,
		"host_interface": ep.HostIfName,
		"mac_address":    ep.MAC,
	}}, nil
}

// DeleteEndpoint forgets the endpoint, removing its veth if a Leave is
// missing (see leaving).
func (d *Plugin) DeleteEndpoint(_ context.Context, req EndpointRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, ep, _, err := d.leaving(req)
	if err != nil || n.ID == "" {
		return err
	}
	return d.deleteEndpoint(n, ep)
}

// leaving returns the network and the endpoint of req for Leave and
// DeleteEndpoint, and whether the endpoint has a record. Without a readable
// one (none, or a corrupt one, which the store moved aside and endpoint
// logged), the endpoint is rebuilt from the IDs, joined: its veth's names
// derive from them, so the veth goes all the same, after a crash or a lost
// record alike. What only the record knew, the ports it published, stays
// in the plugin's table until the table goes with the plugin's last
// network. With no record of the network either there is nothing to
// remove: n is the zero dockerNetwork.
func (d *Plugin) leaving(req EndpointRequest) (n dockerNetwork, ep dockerEndpoint, recorded bool, err error) {
	ep, err = d.endpoint(req.EndpointID)
	recorded = err == nil
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCorrupt) {
		ep, err = joinedEndpoint(req.NetworkID, req.EndpointID), nil
	}
	if err != nil {
		return dockerNetwork{}, dockerEndpoint{}, false, err
	}
	n, err = d.network(ep.NetworkID)
	if !recorded && errors.Is(err, store.ErrNotFound) {
		return dockerNetwork{}, dockerEndpoint{}, false, nil
	}
	return n, ep, recorded, err
}

func (d *Plugin) deleteEndpoint(n dockerNetwork, ep dockerEndpoint) error {
	if ep.Joined {
		if err := d.detach(n, ep); err != nil {
			return err
		}
	}
	if err := d.store.Delete(kindEndpoint, ep.ID); err != nil {
		return err
	}
	d.log.Info("endpoint deleted", "network", n.ID, "endpoint", ep.ID)
	return nil
}

// Join creates the endpoint's veth pair, both ends on the host, the host end
// a port of the network's bridge (created if this is its first endpoint),
// and tells the engine to move the other end into the container as ethN.
func (d *Plugin) Join(_ context.Context, req JoinRequest) (JoinResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep, err := d.endpoint(req.EndpointID)
	if err != nil {
		return JoinResponse{}, err
	}
	n, err := d.network(ep.NetworkID)
	if err != nil {
		return JoinResponse{}, err
	}
	if ep.Joined {
		// A Join that the engine repeats, or one whose Leave never came:
		// start from a clean slate rather than fail on the old veth.
		if err := d.detach(n, ep); err != nil {
			return JoinResponse{}, err
		}
	}
	// Record the join before making the veth, so that a crash in between
	// leaves a record that Leave and DeleteEndpoint clean up after. Ports
	// come after the join, with ProgramExternalConnectivity.
	ep.Joined = true
	ep.Ports = nil
	if err := d.store.Put(kindEndpoint, ep.ID, ep); err != nil {
		return JoinResponse{}, err
	}
	if err := d.attach(n, ep); err != nil {
		return JoinResponse{}, fmt.Errorf("join endpoint %s to network %s: %w", ep.ID, n.ID, err)
	}
	d.log.Info("joined", "network", n.ID, "endpoint", ep.ID, "bridge", n.Bridge, "veth", ep.HostIfName, "sandbox", req.SandboxKey)

	resp := JoinResponse{
		InterfaceName: &InterfaceName{SrcName: ep.IfName, DstPrefix: "eth"},
	}
	if !n.Internal {
		// The engine adds the default route of each family through its
		// gateway.
		for _, gw := range n.Gateways {
			switch {
			case gw.Addr().Is4() && !resp.Gateway.IsValid():
				resp.Gateway = gw.Addr()
			case gw.Addr().Is6() && !resp.GatewayIPv6.IsValid():
				resp.GatewayIPv6 = gw.Addr()
			}
		}
	}
	return resp, nil
}

// Leave removes the endpoint's veth pair, wherever its container end is
// now, and the bridge with the network's last endpoint.
func (d *Plugin) Leave(_ context.Context, req EndpointRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, ep, recorded, err := d.leaving(req)
	if err != nil || n.ID == "" {
		return err
	}
	if err := d.detach(n, ep); err != nil {
		return err
	}
	if recorded {
		ep.Joined = false
		ep.Ports = nil
		if err := d.store.Put(kindEndpoint, ep.ID, ep); err != nil {
			return err
		}
	}
	d.log.Info("left", "network", n.ID, "endpoint", ep.ID, "veth", ep.HostIfName)
	return nil
}

// attach and detach call the driver for endpoint ep of network n: the
// network's firewall rules come with its first endpoint, an endpoint's
// published ports with ProgramExternalConnectivity.
func (d *Plugin) attach(n dockerNetwork, ep dockerEndpoint) error {
	dn, c, err := n.endpoint(ep)
	if err != nil {
		return err
	}
	_, err = d.Driver.Attach(dn, c)
	return err
}

func (d *Plugin) detach(n dockerNetwork, ep dockerEndpoint) error {
	dn, c, err := n.endpoint(ep)
	if err == nil {
		err = d.Driver.Detach(dn, c)
	}
	if err != nil {
		return fmt.Errorf("detach endpoint %s from network %s: %w", ep.ID, n.ID, err)
	}
	return nil
}

// DiscoverNew is for drivers of global scope; a local one has nothing to
// learn from it.
func (d *Plugin) DiscoverNew(context.Context, DiscoveryNotification) error {
	return nil
}

// DiscoverDelete: see DiscoverNew.
func (d *Plugin) DiscoverDelete(context.Context, DiscoveryNotification) error {
	return nil
}

// ProgramExternalConnectivity publishes the endpoint's ports (docker run
// -p), which the engine asks of the endpoint that is its container's
// gateway, once it has joined. The ports are recorded first, so that a
// crash leaves a record to withdraw them by.
func (d *Plugin) ProgramExternalConnectivity(_ context.Context, req ExternalConnectivityRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep, err := d.endpoint(req.EndpointID)
	if err != nil {
		return err
	}
	n, err := d.network(ep.NetworkID)
	if err != nil {
		return err
	}
	mappings, err := dockerPortMap(req.Options[OptionPortMap])
	if err != nil {
		return err
	}
	if len(mappings) == 0 {
		return nil
	}
	dn, err := n.network()
	if err != nil {
		return err
	}
	if ep.Ports, err = dn.PublishedPorts(mappings, dockerPortFields); err != nil {
		return err
	}
	if err := d.store.Put(kindEndpoint, ep.ID, ep); err != nil {
		return err
	}
	_, c, err := n.endpoint(ep)
	if err == nil {
		err = d.Driver.Publish(dn, c)
	}
	if err != nil {
		return fmt.Errorf("publish the ports of endpoint %s: %w", ep.ID, err)
	}
	d.log.Info("ports published", "network", n.ID, "endpoint", ep.ID, "ports", len(ep.Ports))
	return nil
}

// RevokeExternalConnectivity withdraws the endpoint's published ports. Those
// of an endpoint whose record is corrupt are lost with it (see leaving).
func (d *Plugin) RevokeExternalConnectivity(_ context.Context, req EndpointRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep, err := d.endpoint(req.EndpointID)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCorrupt) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(ep.Ports) == 0 {
		return nil
	}
	n, err := d.network(ep.NetworkID)
	if err != nil {
		return err
	}
	dn, c, err := n.endpoint(ep)
	if err == nil {
		err = d.Driver.Withdraw(dn, c)
	}
	if err != nil {
		return fmt.Errorf("withdraw the ports of endpoint %s: %w", ep.ID, err)
	}
	ep.Ports = nil
	return d.store.Put(kindEndpoint, ep.ID, ep)
}

// dockerPortBinding is an entry of com.docker.network.portmap, libnetwork's
// PortBinding: Proto is an IP protocol number; HostPort to HostPortEnd is a
// range to choose one host port from, not a range of ports.
type dockerPortBinding struct {
	Proto       int
	IP          string
	Port        int
	HostIP      string
	HostPort    int
	HostPortEnd int
}

// dockerPortFields name the fields of a dockerPortBinding in errors.
var dockerPortFields = firewall.Fields{
	List:          OptionPortMap,
	HostIP:        "HostIP",
	Protocol:      "Proto",
	HostPort:      "HostPort",
	ContainerPort: "Port",
	Range:         "HostPortEnd",
}

// dockerPortMap decodes the port map option into mappings. A binding
// without a host port (docker run -p 80, or -P) asks the driver to choose
// one, which this driver does not do: it is refused.
func dockerPortMap(v any) ([]firewall.PortMapping, error) {
	if v == nil {
		return nil, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", OptionPortMap, err)
	}
	var bindings []dockerPortBinding
	if err := json.Unmarshal(data, &bindings); err != nil {
		return nil, fmt.Errorf("%s: %w", OptionPortMap, err)
	}
	mappings := make([]firewall.PortMapping, len(bindings))
	for i, b := range bindings {
		if b.HostPort == 0 {
			return nil, fmt.Errorf("%s[%d]: no host port for container port %d: this driver does not choose host ports; "+
				"publish with -p HOSTPORT:%d", OptionPortMap, i, b.Port, b.Port)
		}
		proto := map[int]string{6: "tcp", 17: "udp", 132: "sctp"}[b.Proto]
		if proto == "" {
			return nil, fmt.Errorf("%s[%d].Proto: protocol %d is not tcp (6), udp (17) or sctp (132)", OptionPortMap, i, b.Proto)
		}
		mappings[i] = firewall.PortMapping{HostIP: b.HostIP, Protocol: proto, HostPort: b.HostPort, ContainerPort: b.Port}
	}
	return mappings, nil
}

// network and endpoint read a record.
func (d *Plugin) network(id string) (dockerNetwork, error) {
	if id == "" {
		return dockerNetwork{}, errors.New("missing NetworkID")
	}
	var n dockerNetwork
	err := d.store.Get(kindNetwork, id, &n)
	d.warnCorrupt(err)
	return n, err
}

func (d *Plugin) endpoint(id string) (dockerEndpoint, error) {
	if id == "" {
		return dockerEndpoint{}, errors.New("missing EndpointID")
	}
	var ep dockerEndpoint
	err := d.store.Get(kindEndpoint, id, &ep)
	d.warnCorrupt(err)
	return ep, err
}

// warnCorrupt logs a record that the store found corrupt, and moved aside:
// the error names the file and where it went.
func (d *Plugin) warnCorrupt(err error) {
	if errors.Is(err, store.ErrCorrupt) {
		d.log.Warn("corrupt state record moved aside", "err", err)
	}
}
