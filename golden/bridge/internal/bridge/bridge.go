// Package bridge is the network driver of demo: it attaches containers
// to a Linux bridge with a veth pair each, and gives their networks
// outbound NAT, published ports and isolation in an nftables table of its
// own, like netavark's built-in bridge driver (without its DNS).
//
// This is the file to edit to change what the plugin does. The netavark
// protocol lives in package plugin, the netlink work in package dataplane
// and the nftables rules in package firewall.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/firewall"
	"example.com/demo/internal/protocol"
)

// Name is the plugin's name: the name of its executable and driver, of its
// nftables table (inet demo), and the alias of the bridges it creates.
const Name = "demo"

// DefaultLockDir is where the driver keeps its lock files: netavark sets up
// several containers at once, and attaching to a bridge must not race with
// removing it.
const DefaultLockDir = "/run/demo"

// LogEnv is the environment variable that turns the log on: the plugin
// writes nothing on stderr unless it is set to debug, info, warn or error,
// since podman shows the user what a plugin writes there.
const LogEnv = "DEMO_LOG"

// Driver implements plugin.Driver with a Linux bridge.
type Driver struct {
	version string
	// LockDir is the directory of the driver's lock files.
	LockDir string
	// Firewall keeps the networks' nftables rules.
	Firewall *firewall.Firewall
	log      *slog.Logger
}

// New returns a Driver that reports version and logs to stderr as LogEnv
// says.
func New(version string) *Driver {
	return &Driver{
		version:  version,
		LockDir:  DefaultLockDir,
		Firewall: &firewall.Firewall{Table: Name, LockDir: DefaultLockDir},
		log:      NewLogger(os.Stderr, os.Getenv(LogEnv)),
	}
}

// NewLogger returns a logger that writes to w from level on (debug, info,
// warn or error), or one that writes nothing when level is empty or none
// of these.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if level == "" || l.UnmarshalText([]byte(level)) != nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// Info describes the plugin.
func (d *Driver) Info() protocol.Info {
	return protocol.Info{
		Version:    d.version,
		APIVersion: protocol.APIVersion,
		Extra:      map[string]string{"description": "demo: containers on a Linux bridge"},
	}
}

// Create validates the network and the user's options, fills in the bridge
// name and a gateway for each subnet that has none, and refuses what could
// never be set up: a network without subnets, whose containers would get no
// addresses, and a bridge option naming a device that is not a bridge.
func (d *Driver) Create(_ context.Context, network protocol.Network) (protocol.Network, error) {
	cfg, err := parseNetwork(network)
	if err != nil {
		return protocol.Network{}, err
	}
	if len(network.Subnets) == 0 {
		return protocol.Network{}, errors.New("network has no subnet: this driver does not allocate addresses itself; " +
			"give it one (podman network create --subnet) so that podman allocates them")
	}
	if err := dataplane.CheckBridge(cfg.bridge.Name); err != nil {
		return protocol.Network{}, err
	}
	network.NetworkInterface = cfg.bridge.Name
	// Plugins get no aardvark-dns from netavark.
	network.DNSEnabled = false
	// podman adds gateways itself after create, but not to an internal
	// network's subnets: the first container would take the gateway's
	// address, and the host could reach no container.
	for i, s := range network.Subnets {
		if !s.Gateway.IsValid() {
			network.Subnets[i].Gateway = firstHost(s.Subnet.Prefix)
		}
	}
	return network, nil
}

// Setup attaches the container to the network's bridge, creating the bridge
// if this is its first container, and publishes its ports. If the firewall
// fails, the links are removed again.
func (d *Driver) Setup(_ context.Context, netns string, req protocol.NetworkPluginExec) (_ protocol.StatusBlock, err error) {
	cfg, err := parseNetwork(req.Network)
	if err != nil {
		return protocol.StatusBlock{}, err
	}
	att, err := cfg.attachment(netns, req)
	if err != nil {
		return protocol.StatusBlock{}, err
	}
	ctr, err := cfg.container(req)
	if err != nil {
		return protocol.StatusBlock{}, err
	}
	lock, err := dataplane.Lock(d.LockDir, cfg.bridge.Name)
	if err != nil {
		return protocol.StatusBlock{}, err
	}
	defer lock.Unlock()
	defer func() {
		if err != nil {
			err = fmt.Errorf("setup %s on network %s: %w", req.ContainerName, req.Network.Name, err)
		}
	}()

	res, err := dataplane.Attach(cfg.bridge, att)
	if err != nil {
		return protocol.StatusBlock{}, err
	}
	if cfg.firewall {
		if err := d.Firewall.Add(cfg.fw, ctr); err != nil {
			det, derr := dataplane.Detach(cfg.bridge, att)
			if derr != nil {
				return protocol.StatusBlock{}, errors.Join(err, fmt.Errorf("roll back: %w", derr))
			}
			if det.BridgeGone {
				lock.RemoveOnUnlock()
			}
			return protocol.StatusBlock{}, err
		}
	}
	d.log.Info("attached", "container", req.ContainerName, "network", req.Network.Name, "bridge", cfg.bridge.Name,
		"veth", att.HostIfName, "ports", len(ctr.Ports))
	return cfg.status(res), nil
}

// Teardown detaches the container from the network's bridge and withdraws
// its ports; with the network's last container go the bridge, if the
// plugin created it, and the network's firewall rules.
func (d *Driver) Teardown(_ context.Context, netns string, req protocol.NetworkPluginExec) (err error) {
	cfg, err := parseNetwork(req.Network)
	if err != nil {
		return err
	}
	// Ports that do not validate were refused at setup: there is nothing
	// of them to withdraw.
	ctr, _ := cfg.container(req)
	lock, err := dataplane.Lock(d.LockDir, cfg.bridge.Name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	defer func() {
		if err != nil {
			err = fmt.Errorf("teardown %s on network %s: %w", req.ContainerName, req.Network.Name, err)
		}
	}()

	det, err := dataplane.Detach(cfg.bridge, cfg.detachment(netns, req))
	if err != nil {
		return err
	}
	if cfg.firewall {
		if err := d.Firewall.Remove(cfg.fw, ctr, det.Empty); err != nil {
			return err
		}
	}
	if det.BridgeGone {
		lock.RemoveOnUnlock()
	}
	d.log.Info("detached", "container", req.ContainerName, "network", req.Network.Name, "last", det.Empty)
	return nil
}

// firstHost returns the first address after a subnet's network address,
// or the zero Addr for a subnet too small to spare one.
func firstHost(p netip.Prefix) netip.Addr {
	if p.Bits() >= p.Addr().BitLen()-1 {
		return netip.Addr{}
	}
	return p.Masked().Addr().Next()
}
