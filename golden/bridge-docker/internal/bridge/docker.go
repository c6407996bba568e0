package bridge

import (
	"context"
	"crypto/sha256"
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
	"example.com/demo/internal/dockerplugin"
	"example.com/demo/internal/firewall"
	"example.com/demo/internal/store"
)

// DockerDriver implements dockerplugin.Driver with the same Linux bridge as
// Driver: the same network options, the same dataplane, and the same lock
// files, so that the netavark plugin and the Docker daemon never race on a
// bridge they share.
//
// Docker's model differs from netavark's in who does what: the engine
// allocates the addresses and moves the container's interface into the
// container, renames it and configures it there. So Join attaches with no
// netns (the container end stays on the host, unconfigured) and tells the
// engine its name and the gateway. And the engine calls the driver once per
// step (CreateNetwork, CreateEndpoint, Join, ...) with IDs only, so the
// driver keeps what the steps told it in a store that outlives the daemon.
type DockerDriver struct {
	// LockDir is the directory of the bridge lock files.
	LockDir string
	// Firewall keeps the networks' nftables rules: the netavark plugin's
	// table, shared.
	Firewall *firewall.Firewall
	store    *store.Store
	log      *slog.Logger
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

// bridge returns the network's bridge for the dataplane.
func (n dockerNetwork) bridge() dataplane.Bridge {
	return dataplane.Bridge{Name: n.Bridge, MTU: n.MTU, Gateways: n.Gateways, Owner: Name, Internal: n.Internal}
}

// firewall returns the network as the firewall sees it. Docker tells a
// driver no network name: the short ID stands for it.
func (n dockerNetwork) firewall() firewall.Network {
	return firewall.Network{
		Name:         n.ID[:min(len(n.ID), 12)],
		Bridge:       n.Bridge,
		Subnets:      n.Subnets,
		Internal:     n.Internal,
		NoMasquerade: n.NoMasquerade,
		Isolate:      n.Isolate,
	}
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

// container returns the endpoint as the firewall sees it.
func (e dockerEndpoint) container() firewall.Container {
	c := firewall.Container{ID: e.ID, Name: "endpoint " + e.ID[:min(len(e.ID), 12)], Ports: e.Ports}
	for _, a := range e.Addresses {
		c.Addresses = append(c.Addresses, a.Addr())
	}
	return c
}

// attachment returns the endpoint's veth for the dataplane. NetnsPath is
// empty: the container end stays on the host for the engine to move.
func (e dockerEndpoint) attachment(mtu int) (dataplane.Attachment, error) {
	mac, err := net.ParseMAC(e.MAC)
	if err != nil {
		return dataplane.Attachment{}, fmt.Errorf("endpoint %s: %w", e.ID, err)
	}
	return dataplane.Attachment{
		IfName:     e.IfName,
		HostIfName: e.HostIfName,
		MAC:        mac,
		MTU:        mtu,
		Addresses:  e.Addresses,
	}, nil
}

// NewDocker returns a DockerDriver that keeps its state in st and logs to
// log.
func NewDocker(st *store.Store, log *slog.Logger) *DockerDriver {
	return &DockerDriver{
		LockDir:  DefaultLockDir,
		Firewall: &firewall.Firewall{Table: Name, LockDir: DefaultLockDir},
		store:    st,
		log:      log,
	}
}

// optMasquerade is Docker's bridge driver option that turns outbound NAT
// off, for networks whose subnets the host's routers know.
const optMasquerade = "com.docker.network.bridge.enable_ip_masquerade"

// dockerNetworkOptions are the network options of docker network create
// -o: those of a podman network, less the route metric (the engine makes
// the routes), plus optMasquerade.
var dockerNetworkOptions = []string{optBridge, optMTU, optIsolate, optFirewall, optMasquerade}

// Capabilities reports a local driver: its networks exist on this host.
func (d *DockerDriver) Capabilities() dockerplugin.CapabilitiesResponse {
	return dockerplugin.CapabilitiesResponse{Scope: dockerplugin.ScopeLocal, ConnectivityScope: dockerplugin.ScopeLocal}
}

// CreateNetwork validates the network's options and records it. The bridge
// itself is made by the first Join, as the netavark plugin makes it at the
// first setup, and goes with the last Leave.
func (d *DockerDriver) CreateNetwork(_ context.Context, req dockerplugin.CreateNetworkRequest) error {
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
func parseDockerNetwork(req dockerplugin.CreateNetworkRequest) (dockerNetwork, error) {
	n := dockerNetwork{ID: req.NetworkID}
	if n.ID == "" {
		return dockerNetwork{}, errors.New("missing NetworkID")
	}
	opts, err := genericOptions(req.Options[dockerplugin.OptionGeneric])
	if err != nil {
		return dockerNetwork{}, err
	}
	if err := checkOptions("network", opts, dockerNetworkOptions); err != nil {
		return dockerNetwork{}, err
	}
	if n.MTU, err = parseMTU(opts[optMTU]); err != nil {
		return dockerNetwork{}, err
	}
	if n.Isolate, err = firewall.ParseIsolation(opts[optIsolate]); err != nil {
		return dockerNetwork{}, fmt.Errorf("network option %w", err)
	}
	fw, err := parseFirewall(opts[optFirewall])
	if err != nil {
		return dockerNetwork{}, err
	}
	n.NoFirewall = !fw
	if v := opts[optMasquerade]; v != "" {
		masq, err := strconv.ParseBool(v)
		if err != nil {
			return dockerNetwork{}, fmt.Errorf("invalid %s %q: want true or false", optMasquerade, v)
		}
		n.NoMasquerade = !masq
	}
	n.Bridge = opts[optBridge]
	if n.Bridge == "" {
		// Docker's own bridge driver names its bridges so, and docker
		// network ls shows the same 12 characters of the ID.
		n.Bridge = "br-" + n.ID[:min(len(n.ID), maxIfNameLen-3)]
	}
	if err := checkIfName(n.Bridge); err != nil {
		return dockerNetwork{}, err
	}
	n.Internal, _ = req.Options[dockerplugin.OptionInternal].(bool)
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
		return nil, fmt.Errorf("%s: want an object of options, got %T", dockerplugin.OptionGeneric, v)
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
func (d *DockerDriver) DeleteNetwork(_ context.Context, req dockerplugin.DeleteNetworkRequest) error {
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
func (d *DockerDriver) CreateEndpoint(_ context.Context, req dockerplugin.CreateEndpointRequest) (dockerplugin.CreateEndpointResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.network(req.NetworkID)
	if err != nil {
		return dockerplugin.CreateEndpointResponse{}, err
	}
	if req.EndpointID == "" {
		return dockerplugin.CreateEndpointResponse{}, errors.New("missing EndpointID")
	}
	var iface dockerplugin.EndpointInterface
	if req.Interface != nil {
		iface = *req.Interface
	}
	ep := dockerEndpoint{
		ID:        req.EndpointID,
		NetworkID: n.ID,
		// Both ends of the veth are on the host until the engine moves
		// one, so both need names unique on the host.
		HostIfName: dataplane.HostIfName(n.ID + "/" + req.EndpointID),
		IfName:     dataplane.HostIfName(n.ID + "/" + req.EndpointID + "/container"),
	}
	for _, a := range []netip.Prefix{iface.Address, iface.AddressIPv6} {
		if a.IsValid() {
			ep.Addresses = append(ep.Addresses, a)
		}
	}
	var answer dockerplugin.CreateEndpointResponse
	if iface.MacAddress != "" {
		mac, err := net.ParseMAC(iface.MacAddress)
		if err != nil {
			return dockerplugin.CreateEndpointResponse{}, fmt.Errorf("endpoint %s: %w", ep.ID, err)
		}
		ep.MAC = mac.String()
	} else {
		ep.MAC = endpointMAC(ep.ID).String()
		answer.Interface = &dockerplugin.EndpointInterface{MacAddress: ep.MAC}
	}
	if err := d.store.Put(kindEndpoint, ep.ID, ep); err != nil {
		return dockerplugin.CreateEndpointResponse{}, err
	}
	d.log.Info("endpoint created", "network", n.ID, "endpoint", ep.ID, "addresses", ep.Addresses)
	return answer, nil
}

// endpointMAC derives a locally administered unicast MAC address from an
// endpoint ID, so that it is the same however often it is derived.
func endpointMAC(id string) net.HardwareAddr {
	sum := sha256.Sum256([]byte(id))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&^0x01 | 0x02
	return mac
}

// EndpointOperInfo describes the endpoint's host side.
func (d *DockerDriver) EndpointOperInfo(_ context.Context, req dockerplugin.EndpointRequest) (dockerplugin.EndpointOperInfoResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep, err := d.endpoint(req.EndpointID)
	if err != nil {
		return dockerplugin.EndpointOperInfoResponse{}, err
	}
	n, err := d.network(ep.NetworkID)
	if err != nil {
		return dockerplugin.EndpointOperInfoResponse{}, err
	}
	return dockerplugin.EndpointOperInfoResponse{Value: map[string]any{
		"bridge":         n.Bridge,
		"host_interface": ep.HostIfName,
		"mac_address":    ep.MAC,
	}}, nil
}

// DeleteEndpoint forgets the endpoint, removing its veth if a Leave is
// missing.
func (d *DockerDriver) DeleteEndpoint(_ context.Context, req dockerplugin.EndpointRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep, err := d.endpoint(req.EndpointID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	n, err := d.network(ep.NetworkID)
	if err != nil {
		return err
	}
	return d.deleteEndpoint(n, ep)
}

func (d *DockerDriver) deleteEndpoint(n dockerNetwork, ep dockerEndpoint) error {
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
func (d *DockerDriver) Join(_ context.Context, req dockerplugin.JoinRequest) (dockerplugin.JoinResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep, err := d.endpoint(req.EndpointID)
	if err != nil {
		return dockerplugin.JoinResponse{}, err
	}
	n, err := d.network(ep.NetworkID)
	if err != nil {
		return dockerplugin.JoinResponse{}, err
	}
	att, err := ep.attachment(n.MTU)
	if err != nil {
		return dockerplugin.JoinResponse{}, err
	}
	if ep.Joined {
		// A Join that the engine repeats, or one whose Leave never came:
		// start from a clean slate rather than fail on the old veth.
		if err := d.detach(n, ep); err != nil {
			return dockerplugin.JoinResponse{}, err
		}
	}
	// Record the join before making the veth, so that a crash in between
	// leaves a record that Leave and DeleteEndpoint clean up after. Ports
	// come after the join, with ProgramExternalConnectivity.
	ep.Joined = true
	ep.Ports = nil
	if err := d.store.Put(kindEndpoint, ep.ID, ep); err != nil {
		return dockerplugin.JoinResponse{}, err
	}
	if err := d.attach(n, ep, att); err != nil {
		return dockerplugin.JoinResponse{}, fmt.Errorf("join endpoint %s to network %s: %w", ep.ID, n.ID, err)
	}
	d.log.Info("joined", "network", n.ID, "endpoint", ep.ID, "bridge", n.Bridge, "veth", ep.HostIfName, "sandbox", req.SandboxKey)

	resp := dockerplugin.JoinResponse{
		InterfaceName: &dockerplugin.InterfaceName{SrcName: ep.IfName, DstPrefix: "eth"},
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
func (d *DockerDriver) Leave(_ context.Context, req dockerplugin.EndpointRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep, err := d.endpoint(req.EndpointID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	n, err := d.network(ep.NetworkID)
	if err != nil {
		return err
	}
	if err := d.detach(n, ep); err != nil {
		return err
	}
	ep.Joined = false
	ep.Ports = nil
	if err := d.store.Put(kindEndpoint, ep.ID, ep); err != nil {
		return err
	}
	d.log.Info("left", "network", n.ID, "endpoint", ep.ID, "veth", ep.HostIfName)
	return nil
}

// attach and detach hold the bridge's lock around the dataplane and
// firewall calls, as the netavark plugin does. attach puts the network's
// firewall rules in place (outbound NAT, isolation) with its first
// endpoint; the endpoint's ports come with ProgramExternalConnectivity.
func (d *DockerDriver) attach(n dockerNetwork, ep dockerEndpoint, att dataplane.Attachment) error {
	lock, err := dataplane.Lock(d.LockDir, n.Bridge)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if _, err := dataplane.Attach(n.bridge(), att); err != nil {
		return err
	}
	if n.NoFirewall {
		return nil
	}
	if err := d.Firewall.Add(n.firewall(), ep.container()); err != nil {
		det, derr := dataplane.Detach(n.bridge(), att)
		if derr != nil {
			return errors.Join(err, fmt.Errorf("roll back: %w", derr))
		}
		if det.BridgeGone {
			lock.RemoveOnUnlock()
		}
		return err
	}
	return nil
}

func (d *DockerDriver) detach(n dockerNetwork, ep dockerEndpoint) error {
	lock, err := dataplane.Lock(d.LockDir, n.Bridge)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	det, err := dataplane.Detach(n.bridge(), dataplane.Attachment{IfName: ep.IfName, HostIfName: ep.HostIfName})
	if err != nil {
		return fmt.Errorf("detach endpoint %s from network %s: %w", ep.ID, n.ID, err)
	}
	if !n.NoFirewall {
		if err := d.Firewall.Remove(n.firewall(), ep.container(), det.Empty); err != nil {
			return fmt.Errorf("detach endpoint %s from network %s: %w", ep.ID, n.ID, err)
		}
	}
	if det.BridgeGone {
		lock.RemoveOnUnlock()
	}
	return nil
}

// DiscoverNew is for drivers of global scope; a local one has nothing to
// learn from it.
func (d *DockerDriver) DiscoverNew(context.Context, dockerplugin.DiscoveryNotification) error {
	return nil
}

// DiscoverDelete: see DiscoverNew.
func (d *DockerDriver) DiscoverDelete(context.Context, dockerplugin.DiscoveryNotification) error {
	return nil
}

// ProgramExternalConnectivity publishes the endpoint's ports (docker run
// -p), which the engine asks of the endpoint that is its container's
// gateway, once it has joined. The ports are recorded first, so that a
// crash leaves a record to withdraw them by.
func (d *DockerDriver) ProgramExternalConnectivity(_ context.Context, req dockerplugin.ExternalConnectivityRequest) error {
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
	mappings, err := dockerPortMap(req.Options[dockerplugin.OptionPortMap])
	if err != nil {
		return err
	}
	if len(mappings) == 0 {
		return nil
	}
	if n.NoFirewall {
		return fmt.Errorf("network %s has %s=none: this driver publishes no ports on it; publish them with your own rules", n.ID, optFirewall)
	}
	if ep.Ports, err = n.firewall().ParsePorts(mappings, dockerPortFields); err != nil {
		return err
	}
	if err := d.store.Put(kindEndpoint, ep.ID, ep); err != nil {
		return err
	}
	lock, err := dataplane.Lock(d.LockDir, n.Bridge)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := d.Firewall.Add(n.firewall(), ep.container()); err != nil {
		return fmt.Errorf("publish the ports of endpoint %s: %w", ep.ID, err)
	}
	d.log.Info("ports published", "network", n.ID, "endpoint", ep.ID, "ports", len(ep.Ports))
	return nil
}

// RevokeExternalConnectivity withdraws the endpoint's published ports.
func (d *DockerDriver) RevokeExternalConnectivity(_ context.Context, req dockerplugin.EndpointRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ep, err := d.endpoint(req.EndpointID)
	if errors.Is(err, store.ErrNotFound) {
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
	lock, err := dataplane.Lock(d.LockDir, n.Bridge)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := d.Firewall.Remove(n.firewall(), ep.container(), false); err != nil {
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
	List:          dockerplugin.OptionPortMap,
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
		return nil, fmt.Errorf("%s: %w", dockerplugin.OptionPortMap, err)
	}
	var bindings []dockerPortBinding
	if err := json.Unmarshal(data, &bindings); err != nil {
		return nil, fmt.Errorf("%s: %w", dockerplugin.OptionPortMap, err)
	}
	mappings := make([]firewall.PortMapping, len(bindings))
	for i, b := range bindings {
		if b.HostPort == 0 {
			return nil, fmt.Errorf("%s[%d]: no host port for container port %d: this driver does not choose host ports; "+
				"publish with -p HOSTPORT:%d", dockerplugin.OptionPortMap, i, b.Port, b.Port)
		}
		proto := map[int]string{6: "tcp", 17: "udp", 132: "sctp"}[b.Proto]
		if proto == "" {
			return nil, fmt.Errorf("%s[%d].Proto: protocol %d is not tcp (6), udp (17) or sctp (132)", dockerplugin.OptionPortMap, i, b.Proto)
		}
		mappings[i] = firewall.PortMapping{HostIP: b.HostIP, Protocol: proto, HostPort: b.HostPort, ContainerPort: b.Port}
	}
	return mappings, nil
}

// network and endpoint read a record.
func (d *DockerDriver) network(id string) (dockerNetwork, error) {
	if id == "" {
		return dockerNetwork{}, errors.New("missing NetworkID")
	}
	var n dockerNetwork
	err := d.store.Get(kindNetwork, id, &n)
	return n, err
}

func (d *DockerDriver) endpoint(id string) (dockerEndpoint, error) {
	if id == "" {
		return dockerEndpoint{}, errors.New("missing EndpointID")
	}
	var ep dockerEndpoint
	err := d.store.Get(kindEndpoint, id, &ep)
	return ep, err
}
