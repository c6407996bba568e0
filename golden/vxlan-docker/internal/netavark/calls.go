package netavark

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"example.com/demo/internal/agentapi"
	"example.com/demo/internal/config"
	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/overlay"
	"example.com/demo/internal/protocol"
)

// callTimeout bounds a call's work with the agent, and the agent's with
// etcd: netavark waits for the plugin without a deadline of its own.
const callTimeout = 30 * time.Second

// host is this host's configuration and its agent, which holds the
// connection to the cluster.
type host struct {
	config.Config
	agent *agentapi.Client
}

// configure reads this host's configuration, and points the driver at its
// lock dir.
func (p *Plugin) configure() (config.Config, error) {
	cfg, err := config.Load(config.Path())
	if err != nil {
		return config.Config{}, err
	}
	if err := cfg.CompleteLocal(); err != nil {
		return config.Config{}, err
	}
	if cfg.LockDir != p.Driver.LockDir {
		p.Driver = driver.New(cfg.LockDir)
	}
	return cfg, nil
}

// open reads this host's configuration and returns it with a client of
// its agent. Close the client when done.
func (p *Plugin) open() (host, error) {
	cfg, err := p.configure()
	if err != nil {
		return host{}, err
	}
	return host{Config: cfg, agent: agentapi.NewClient(cfg.AgentSocket)}, nil
}

// Create records the network in the cluster: it takes a VNI that no other
// network has, and checks its subnets against every other network's. It
// returns the network with its VNI among its options, its bridge as its
// network interface, and IPAM driver none: the plugin allocates the
// addresses in etcd, where every host sees them, and podman none.
func (p *Plugin) Create(ctx context.Context, network protocol.Network) (protocol.Network, error) {
	network, spec, err := prepare(network)
	if err != nil {
		return protocol.Network{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	h, err := p.open()
	if err != nil {
		return protocol.Network{}, err
	}
	defer h.agent.Close()
	created, err := h.agent.CreateNetwork(ctx, spec)
	if err != nil {
		return protocol.Network{}, err
	}
	return withVNI(network, created.VNI), nil
}

// prepare validates a network for create, which needs no system call and
// agent, and returns it with a gateway for each subnet that has none, and
// the network to record in the cluster.
func prepare(network protocol.Network) (protocol.Network, agentapi.Network, error) {
	if _, ok := network.Options[driver.OptBridge]; ok {
		return protocol.Network{}, agentapi.Network{}, fmt.Errorf("option %s is not supported: the bridge of a network is named after its VNI", driver.OptBridge)
	}
	vni, err := agentapi.ParseVNI(network.Options[agentapi.OptVNI])
	if err != nil {
		return protocol.Network{}, agentapi.Network{}, err
	}
	network.Options = maps.Clone(network.Options)
	delete(network.Options, agentapi.OptVNI)
	if _, err := parseNetwork(network); err != nil {
		return protocol.Network{}, agentapi.Network{}, err
	}
	if len(network.Subnets) == 0 {
		return protocol.Network{}, agentapi.Network{}, errors.New("network has no subnet: give it one or more (podman network create --subnet), from which the plugin allocates the containers' addresses on every host")
	}
	network.Subnets = slices.Clone(network.Subnets)
	spec := agentapi.Network{Name: network.Name, ID: network.ID, VNI: vni}
	for i, s := range network.Subnets {
		if !s.Gateway.IsValid() {
			network.Subnets[i].Gateway = driver.FirstHost(s.Subnet.Prefix)
		}
		spec.Subnets = append(spec.Subnets, agentapi.Subnet{Prefix: s.Subnet.Prefix, Gateway: network.Subnets[i].Gateway})
	}
	return network, spec, nil
}

// withVNI completes a network that create prepared with its VNI.
func withVNI(network protocol.Network, vni uint32) protocol.Network {
	if network.Options == nil {
		network.Options = map[string]string{}
	}
	network.Options[agentapi.OptVNI] = strconv.FormatUint(uint64(vni), 10)
	network.NetworkInterface = overlay.BridgeName(vni)
	network.IPAMOptions = map[string]string{"driver": "none"}
	// Plugins get no aardvark-dns from netavark.
	network.DNSEnabled = false
	return network
}

// segment is a network as setup and teardown see it: validated, with its
// VNI.
type segment struct {
	network
	vni uint32
}

// parseSegment validates a network that create completed.
func parseSegment(n protocol.Network) (segment, error) {
	vni, err := agentapi.ParseVNI(n.Options[agentapi.OptVNI])
	if err != nil {
		return segment{}, err
	}
	if vni == 0 {
		return segment{}, fmt.Errorf("network has no %s option: was it created by this plugin?", agentapi.OptVNI)
	}
	n.Options = maps.Clone(n.Options)
	delete(n.Options, agentapi.OptVNI)
	if n.NetworkInterface != overlay.BridgeName(vni) {
		return segment{}, fmt.Errorf("network interface %q is not %s, the bridge of VNI %d: was the network created by this plugin?", n.NetworkInterface, overlay.BridgeName(vni), vni)
	}
	parsed, err := parseNetwork(n)
	if err != nil {
		return segment{}, err
	}
	parsed.Bridge.Uplink = overlay.VXLANName(vni)
	return segment{network: parsed, vni: vni}, nil
}

// Setup gives the container its addresses from the cluster and records it
// there, through this host's agent, then attaches it to the network's
// bridge on this host, which is created, with its VXLAN device and the
// other hosts' containers, with the network's first container here.
func (p *Plugin) Setup(ctx context.Context, netns string, req protocol.NetworkPluginExec) (_ protocol.StatusBlock, err error) {
	seg, err := parseSegment(req.Network)
	if err != nil {
		return protocol.StatusBlock{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	h, err := p.open()
	if err != nil {
		return protocol.StatusBlock{}, err
	}
	defer h.agent.Close()
	// A VTEP that is not this host's fails before anything is recorded
	// or locked: the other hosts would program an endpoint behind it.
	if err := overlay.CheckVTEP(h.VTEP, h.Device); err != nil {
		return protocol.StatusBlock{}, fmt.Errorf("%w (\"vtep\" in %s)", err, config.Path())
	}
	mac := net.HardwareAddr(req.NetworkOptions.StaticMAC)
	if len(mac) == 0 {
		mac = endpointMAC(req)
	}
	spec := agentapi.AttachRequest{Network: req.Network.Name, Key: endpointKey(req), MAC: mac.String(),
		Addresses: seg.prefixes(req.NetworkOptions.StaticIPs)}
	req.NetworkOptions.StaticMAC = protocol.HardwareAddr(mac)
	var (
		ep  agentapi.Endpoint
		c   driver.Container
		res dataplane.Result
	)
	err = p.Driver.Locked(seg.Bridge.Name, func(s *driver.Session) error {
		ep, c, res, err = attach(ctx, h, s, &seg, netns, req, spec)
		return err
	})
	if err != nil {
		return protocol.StatusBlock{}, fmt.Errorf("setup %s on network %s: %w", req.ContainerName, req.Network.Name, err)
	}
	p.log.Info("attached", "container", req.ContainerName, "network", req.Network.Name, "vni", seg.vni,
		"veth", c.Link.HostIfName, "addresses", ep.Addresses)
	return status(seg.network, res), nil
}

// attach attaches the container of req to seg on this host, with the
// session of seg's bridge held: the segment's bridge and VXLAN device,
// then the container's record in the cluster (spec), through the agent,
// then the container, then the network's endpoints of the other hosts on
// the VXLAN device. The agent reads those after the device exists, so that
// a change after its read reaches the agent's watch with the device there,
// and the agent, which takes this lock to apply it, applies it after this
// Sync. If a step fails, what it made is removed: the record, and the
// devices with the network's last container here, as in teardown.
func attach(ctx context.Context, h host, s *driver.Session, seg *segment, netns string, req protocol.NetworkPluginExec, spec agentapi.AttachRequest) (ep agentapi.Endpoint, c driver.Container, res dataplane.Result, err error) {
	// undo is what a failure detaches: until the container has its
	// addresses, only what is its own, and the devices if the network
	// has no other container here.
	undo := detachment(seg.network, netns, req)
	undo.Link.Addresses, undo.Ports = nil, nil
	recorded := false
	defer func() {
		if err == nil {
			return
		}
		err = errors.Join(err, s.Detach(seg.Network, undo))
		if recorded {
			err = errors.Join(err, h.agent.Detach(context.WithoutCancel(ctx), ep.Network, ep.Key))
		}
	}()
	br, err := overlay.Ensure(overlay.Segment{
		VNI: seg.vni, VTEP: h.VTEP, Device: h.Device, MTU: seg.Bridge.MTU,
		Gateways: seg.Bridge.Gateways, Owner: seg.Bridge.Owner,
	})
	if err != nil {
		// Ensure removed what it made; Detach removes the bridge's lock
		// file when there is no bridge.
		return ep, c, res, err
	}
	br.Internal = seg.Bridge.Internal
	seg.Bridge = br
	att, err := h.agent.Attach(ctx, spec)
	if err != nil {
		return ep, c, res, err
	}
	ep, recorded = att.Endpoint, true
	req.NetworkOptions.StaticIPs = recordedIPs(ep)
	if c, err = container(seg.network, netns, req); err != nil {
		return ep, c, res, err
	}
	undo = c
	if res, err = s.Attach(seg.Network, c); err != nil {
		return ep, c, res, err
	}
	return ep, c, res, overlay.Sync(seg.vni, overlay.Peers(att.Endpoints))
}

// recordedIPs returns the addresses of a container's record in the
// cluster, as netavark's static_ips: netavark sends none for this
// plugin's networks, whose addresses the plugin gives.
func recordedIPs(ep agentapi.Endpoint) []netip.Addr {
	var ips []netip.Addr
	for _, a := range ep.Addresses {
		ips = append(ips, a.Addr())
	}
	return ips
}

// Teardown detaches the container on this host, and removes its record
// and addresses from the cluster, through this host's agent; with the
// network's last container on this host go the bridge and VXLAN device. It
// succeeds when there is nothing to remove. The container's addresses,
// which its published ports are withdrawn by, are those of its record:
// netavark sends none, since the plugin gave them. When the agent or etcd
// is out of reach it still removes the links, and says that the record,
// and the ports, stay until it runs again.
func (p *Plugin) Teardown(ctx context.Context, netns string, req protocol.NetworkPluginExec) error {
	seg, err := parseSegment(req.Network)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	h, err := p.open()
	if err != nil {
		return err
	}
	defer h.agent.Close()
	ep, found, agentErr := h.agent.Endpoint(ctx, req.Network.Name, endpointKey(req))
	if found {
		req.NetworkOptions.StaticIPs = recordedIPs(ep)
	}
	c := detachment(seg.network, netns, req)
	err = p.Driver.Locked(seg.Bridge.Name, func(s *driver.Session) error { return s.Detach(seg.Network, c) })
	if err != nil {
		return fmt.Errorf("teardown %s on network %s: %w", req.ContainerName, req.Network.Name, err)
	}
	if agentErr == nil {
		agentErr = h.agent.Detach(ctx, req.Network.Name, endpointKey(req))
	}
	if agentErr != nil {
		return fmt.Errorf("teardown %s on network %s: its links are removed, but not its record in etcd or its published ports, which stay until teardown runs again (or the record until this host's lease expires): %w",
			req.ContainerName, req.Network.Name, agentErr)
	}
	p.log.Info("detached", "container", req.ContainerName, "network", req.Network.Name)
	return nil
}

// endpointKey names the container's interface on the network in the
// cluster, unique on its host.
func endpointKey(req protocol.NetworkPluginExec) string {
	return req.ContainerID + "-" + req.NetworkOptions.InterfaceName
}

// endpointMAC derives the MAC of the container's interface from its
// attachmentKey, so that setup knows it before
// the interface exists and records it with the addresses: a locally
// administered unicast address.
func endpointMAC(req protocol.NetworkPluginExec) net.HardwareAddr {
	return dataplane.KeyMAC(attachmentKey(req))
}
