package cni

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containernetworking/cni/pkg/types"

	"example.com/demo/internal/bridge"
	"example.com/demo/internal/dataplane"
)

// DefaultDataDir is where the plugin records its attachments, one directory
// per network, unless the network configuration sets dataDir.
const DefaultDataDir = "/var/lib/cni/demo"

// NetConf is the network configuration on stdin: the keys every plugin
// gets, this plugin's own, and the conventional runtimeConfig and args.
type NetConf struct {
	types.PluginConf

	// Bridge names the host bridge. Empty derives "br-NAME" from the
	// network's name, as the netavark front end does.
	Bridge string `json:"bridge,omitempty"`
	// MTU of a new bridge and of the containers' interfaces; a number, or
	// a string holding one. Empty keeps the kernel's default.
	MTU json.Number `json:"mtu,omitempty"`
	// IsGateway gives the bridge the gateway address of each container
	// subnet, so that the host routes to the containers.
	IsGateway bool `json:"isGateway,omitempty"`
	// IsDefaultGateway also gives each container a default route through
	// the gateway of its subnet; it implies IsGateway.
	IsDefaultGateway bool `json:"isDefaultGateway,omitempty"`
	// Gateways are gateway addresses ("10.88.0.1") for the subnets of
	// addresses that come without one: requested ones, or an IPAM result
	// that names none. A subnet with no gateway here gets its first
	// address when IsGateway is set.
	Gateways []string `json:"gateways,omitempty"`
	// DataDir is where attachments are recorded (default DefaultDataDir).
	DataDir string `json:"dataDir,omitempty"`

	RuntimeConfig RuntimeConfig `json:"runtimeConfig,omitempty"`
	Args          *Args         `json:"args,omitempty"`
}

// RuntimeConfig holds the capabilities the plugin understands, as a
// runtime fills them in (CONVENTIONS.md, "Well-known Capabilities").
type RuntimeConfig struct {
	// IPs are requested addresses, "10.88.0.5/24".
	IPs []string `json:"ips,omitempty"`
	// MAC is the container interface's address.
	MAC string `json:"mac,omitempty"`
	// PortMappings are recorded with the attachment but not applied: this
	// plugin has no NAT. Chain the portmap plugin to apply them.
	PortMappings []PortMapping `json:"portMappings,omitempty"`
}

// PortMapping is one entry of the portMappings capability.
type PortMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
	HostIP        string `json:"hostIP,omitempty"`
}

// Args is the args key of the configuration; only args.cni is read.
type Args struct {
	CNI *ArgsCNI `json:"cni,omitempty"`
}

// ArgsCNI holds the conventional arguments under args.cni.
type ArgsCNI struct {
	// IPs are requested addresses, "10.88.0.5/24".
	IPs []string `json:"ips,omitempty"`
	// Labels are recorded with the attachment and logged.
	Labels []Label `json:"labels,omitempty"`
}

// Label is one of args.cni.labels.
type Label struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// config is a network configuration, validated.
type config struct {
	NetConf
	// bridge has the name and MTU; Attach gets its gateways per container.
	bridge    dataplane.Bridge
	gateways  []netip.Addr
	mac       net.HardwareAddr
	dataDir   string
	isGateway bool
}

// parseConfig decodes and validates stdin. It makes no system call, so a bad
// configuration is refused before anything is touched. Errors are CNI
// errors: 6 for what does not decode, 7 for what is invalid.
func parseConfig(stdin []byte) (*config, error) {
	c := &config{}
	if err := json.Unmarshal(stdin, &c.NetConf); err != nil {
		return nil, types.NewError(types.ErrDecodingFailure, "decode network configuration", err.Error())
	}
	if err := c.validate(); err != nil {
		return nil, invalidConfig(err)
	}
	return c, nil
}

func (c *config) validate() error {
	// skel has checked the network name: alphanumerics, '_', '.' and '-',
	// starting with an alphanumeric, so it is a safe directory name.
	c.bridge.Name = c.Bridge
	if c.bridge.Name == "" {
		c.bridge.Name = bridge.DerivedBridgeName(c.Name)
	}
	if err := bridge.CheckIfName(c.bridge.Name); err != nil {
		return fmt.Errorf("bridge: %w", err)
	}
	var err error
	if c.bridge.MTU, err = bridge.ParseMTU(c.MTU.String()); err != nil {
		return err
	}
	c.isGateway = c.IsGateway || c.IsDefaultGateway
	for _, s := range c.Gateways {
		gw, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("gateways: %w", err)
		}
		if gw.Zone() != "" || gw.Is4In6() {
			return fmt.Errorf("gateways: %s: give a plain IPv4 or IPv6 address", s)
		}
		c.gateways = append(c.gateways, gw)
	}
	c.dataDir = c.DataDir
	if c.dataDir == "" {
		c.dataDir = DefaultDataDir
	}
	if !filepath.IsAbs(c.dataDir) {
		return fmt.Errorf("dataDir %q is not an absolute path", c.dataDir)
	}
	if s := c.RuntimeConfig.MAC; s != "" {
		if c.mac, err = net.ParseMAC(s); err != nil {
			return fmt.Errorf("runtimeConfig.mac: %w", err)
		}
	}
	for _, pm := range c.RuntimeConfig.PortMappings {
		if err := pm.validate(); err != nil {
			return fmt.Errorf("runtimeConfig.portMappings: %w", err)
		}
	}
	return nil
}

func (pm PortMapping) validate() error {
	switch {
	case pm.HostPort < 1 || pm.HostPort > 65535:
		return fmt.Errorf("hostPort %d is not a port number", pm.HostPort)
	case pm.ContainerPort < 1 || pm.ContainerPort > 65535:
		return fmt.Errorf("containerPort %d is not a port number", pm.ContainerPort)
	case !slices.Contains([]string{"", "tcp", "udp", "sctp"}, strings.ToLower(pm.Protocol)):
		return fmt.Errorf("protocol %q is not tcp, udp or sctp", pm.Protocol)
	}
	if pm.HostIP != "" {
		if _, err := netip.ParseAddr(pm.HostIP); err != nil {
			return fmt.Errorf("hostIP: %w", err)
		}
	}
	return nil
}

// labels returns args.cni.labels.
func (c *config) labels() []Label {
	if c.Args == nil || c.Args.CNI == nil {
		return nil
	}
	return c.Args.CNI.Labels
}

// hostIfName names the host end of an attachment's veth pair. Like the
// netavark front end's, it derives from what identifies the attachment, so
// DEL finds the pair even without the record; the "cni/" prefix keeps the
// two front ends' names apart.
func (c *config) hostIfName(containerID, ifName string) string {
	return dataplane.HostIfName("cni/" + c.Name + "/" + containerID + "/" + ifName)
}

// invalidConfig makes err a CNI "invalid network config" error, unless it
// is a CNI error already.
func invalidConfig(err error) error {
	var e *types.Error
	if errors.As(err, &e) {
		return err
	}
	return types.NewError(types.ErrInvalidNetworkConfig, "invalid network configuration", err.Error())
}
