// Package bridge is the network driver of demo: it attaches containers
// to a Linux bridge with a veth pair each, like netavark's built-in bridge
// driver without its firewall, port forwarding and DNS.
//
// This is the file to edit to change what the plugin does. The netavark
// protocol lives in package plugin and the netlink work in package dataplane.
package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/protocol"
)

// DefaultLockDir is where the driver keeps its lock files: netavark sets up
// several containers at once, and attaching to a bridge must not race with
// removing it.
const DefaultLockDir = "/run/demo"

// Driver implements plugin.Driver with a Linux bridge.
type Driver struct {
	version string
	// LockDir is the directory of the driver's lock files.
	LockDir string
	log     *slog.Logger
}

// New returns a Driver that reports version and logs to stderr.
func New(version string) *Driver {
	return &Driver{
		version: version,
		LockDir: DefaultLockDir,
		log:     slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
}

// Info describes the plugin.
func (d *Driver) Info() protocol.Info {
	return protocol.Info{
		Version:    d.version,
		APIVersion: protocol.APIVersion,
		Extra:      map[string]string{"description": "demo: containers on a Linux bridge"},
	}
}

// Create validates the network and the user's options and fills in the
// bridge name. Everything else is returned as it came.
func (d *Driver) Create(_ context.Context, network protocol.Network) (protocol.Network, error) {
	cfg, err := parseNetwork(network)
	if err != nil {
		return protocol.Network{}, err
	}
	network.NetworkInterface = cfg.bridge.Name
	// Plugins get no aardvark-dns from netavark.
	network.DNSEnabled = false
	return network, nil
}

// Setup attaches the container to the network's bridge, creating the bridge
// if this is its first container.
func (d *Driver) Setup(_ context.Context, netns string, req protocol.NetworkPluginExec) (protocol.StatusBlock, error) {
	cfg, err := parseNetwork(req.Network)
	if err != nil {
		return protocol.StatusBlock{}, err
	}
	att, err := cfg.attachment(netns, req)
	if err != nil {
		return protocol.StatusBlock{}, err
	}
	unlock, err := dataplane.Lock(d.LockDir, cfg.bridge.Name)
	if err != nil {
		return protocol.StatusBlock{}, err
	}
	defer unlock()

	res, err := dataplane.Attach(cfg.bridge, att)
	if err != nil {
		return protocol.StatusBlock{}, fmt.Errorf("setup %s on network %s: %w", req.ContainerName, req.Network.Name, err)
	}
	d.log.Info("attached", "container", req.ContainerName, "network", req.Network.Name, "bridge", cfg.bridge.Name, "veth", att.HostIfName)
	return cfg.status(res), nil
}

// Teardown detaches the container from the network's bridge and removes the
// bridge with its last container.
func (d *Driver) Teardown(_ context.Context, netns string, req protocol.NetworkPluginExec) error {
	cfg, err := parseNetwork(req.Network)
	if err != nil {
		return err
	}
	unlock, err := dataplane.Lock(d.LockDir, cfg.bridge.Name)
	if err != nil {
		return err
	}
	defer unlock()

	if err := dataplane.Detach(cfg.bridge, cfg.detachment(netns, req)); err != nil {
		return fmt.Errorf("teardown %s on network %s: %w", req.ContainerName, req.Network.Name, err)
	}
	return nil
}
