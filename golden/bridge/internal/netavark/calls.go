package netavark

import (
	"context"
	"errors"
	"fmt"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/protocol"
)

// Create validates the network and the user's options, fills in the bridge
// name and a gateway for each subnet that has none, and refuses what could
// never be set up: a network without subnets, whose containers would get no
// addresses, and a bridge option naming a device that is not a bridge.
func (p *Plugin) Create(_ context.Context, network protocol.Network) (protocol.Network, error) {
	n, err := parseNetwork(network)
	if err != nil {
		return protocol.Network{}, err
	}
	if len(network.Subnets) == 0 {
		return protocol.Network{}, errors.New("network has no subnet: this driver does not allocate addresses itself; " +
			"give it one (podman network create --subnet) so that podman allocates them")
	}
	if err := dataplane.CheckBridge(n.Bridge.Name); err != nil {
		return protocol.Network{}, err
	}
	network.NetworkInterface = n.Bridge.Name
	// Plugins get no aardvark-dns from netavark.
	network.DNSEnabled = false
	// podman adds gateways itself after create, but not to an internal
	// network's subnets: the first container would take the gateway's
	// address, and the host could reach no container.
	for i, s := range network.Subnets {
		if !s.Gateway.IsValid() {
			network.Subnets[i].Gateway = driver.FirstHost(s.Subnet.Prefix)
		}
	}
	return network, nil
}

// Setup attaches the container to the network: its bridge, created with
// its first container, a veth pair, and its firewall rules with the
// container's published ports.
func (p *Plugin) Setup(_ context.Context, netns string, req protocol.NetworkPluginExec) (protocol.StatusBlock, error) {
	n, err := parseNetwork(req.Network)
	if err != nil {
		return protocol.StatusBlock{}, err
	}
	c, err := container(n, netns, req)
	if err != nil {
		return protocol.StatusBlock{}, err
	}
	res, err := p.Driver.Attach(n.Network, c)
	if err != nil {
		return protocol.StatusBlock{}, fmt.Errorf("setup %s on network %s: %w", req.ContainerName, req.Network.Name, err)
	}
	p.log.Info("attached", "container", req.ContainerName, "network", req.Network.Name, "bridge", n.Bridge.Name,
		"veth", c.Link.HostIfName, "ports", len(c.Ports))
	return status(n, res), nil
}

// Teardown detaches the container from the network; with the network's
// last container go its bridge, if the plugin created it, and its firewall
// rules.
func (p *Plugin) Teardown(_ context.Context, netns string, req protocol.NetworkPluginExec) error {
	n, err := parseNetwork(req.Network)
	if err != nil {
		return err
	}
	if err := p.Driver.Detach(n.Network, detachment(n, netns, req)); err != nil {
		return fmt.Errorf("teardown %s on network %s: %w", req.ContainerName, req.Network.Name, err)
	}
	p.log.Info("detached", "container", req.ContainerName, "network", req.Network.Name)
	return nil
}
