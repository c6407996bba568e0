package cni

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"

	"github.com/containernetworking/cni/pkg/types"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/firewall"
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
	// IPMasq masquerades the containers' traffic to anything outside
	// their subnets, as the reference bridge plugin's ipMasq.
	IPMasq bool `json:"ipMasq,omitempty"`
	// Isolate is true, strict or false, as the netavark front end's
	// isolate option; Firewall is nftables (the default) or none, for
	// hosts whose operators keep the rules themselves.
	Isolate  string `json:"isolate,omitempty"`
	Firewall string `json:"firewall,omitempty"`

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
	// PortMappings are the container's published ports.
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
	// PortMappings are published ports in the older convention, used
	// when runtimeConfig.portMappings has none.
	PortMappings []ArgsPortMapping `json:"port_mappings,omitempty"`
}

// ArgsPortMapping is one of args.cni.port_mappings.
type ArgsPortMapping struct {
	HostPort      int    `json:"host_port"`
	ContainerPort int    `json:"container_port"`
	Protocol      string `json:"protocol,omitempty"`
	HostIP        string `json:"host_ip,omitempty"`
}

// Label is one of args.cni.labels.
type Label struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// config is a network configuration, validated.
type config struct {
	NetConf
	// settings are the keys the network shares with the other runtimes'
	// networks; bridge is its bridge.
	settings  driver.Settings
	bridge    string
	gateways  []netip.Addr
	mac       net.HardwareAddr
	dataDir   string
	isGateway bool
	// portMappings are the container's published ports from either place
	// a runtime puts them, named in errors as portFields says.
	portMappings []firewall.PortMapping
	portFields   firewall.Fields
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
	var err error
	c.settings, err = driver.ParseSettings(map[string]string{
		driver.OptBridge: c.Bridge, driver.OptMTU: c.MTU.String(), driver.OptIsolate: c.Isolate, driver.OptFirewall: c.Firewall,
	}, driver.OptBridge, driver.OptMTU, driver.OptIsolate, driver.OptFirewall)
	if err != nil {
		return err
	}
	c.bridge = cmp.Or(c.settings.Bridge, driver.DefaultBridge(c.Name))
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
	// ADD checks the ports against the network; what is wrong whatever
	// the network is refused now, before anything is touched.
	c.portMappings, c.portFields = c.publishedPorts()
	_, err = firewall.ParsePorts(c.portMappings, c.portFields)
	return err
}

// publishedPorts returns the port mappings of the runtimeConfig capability,
// or if it has none those of args.cni.port_mappings, and their field names.
func (c *config) publishedPorts() ([]firewall.PortMapping, firewall.Fields) {
	if pms := c.RuntimeConfig.PortMappings; len(pms) > 0 {
		out := make([]firewall.PortMapping, len(pms))
		for i, pm := range pms {
			out[i] = firewall.PortMapping{HostIP: pm.HostIP, Protocol: pm.Protocol, HostPort: pm.HostPort, ContainerPort: pm.ContainerPort}
		}
		return out, firewall.Fields{List: "runtimeConfig.portMappings", HostIP: "hostIP", Protocol: "protocol",
			HostPort: "hostPort", ContainerPort: "containerPort", Range: "range"}
	}
	fields := firewall.NetavarkFields
	fields.List = "args.cni.port_mappings"
	if c.Args == nil || c.Args.CNI == nil {
		return nil, fields
	}
	out := make([]firewall.PortMapping, len(c.Args.CNI.PortMappings))
	for i, pm := range c.Args.CNI.PortMappings {
		out[i] = firewall.PortMapping{HostIP: pm.HostIP, Protocol: pm.Protocol, HostPort: pm.HostPort, ContainerPort: pm.ContainerPort}
	}
	return out, fields
}

// network is the network for the driver, for a container with the
// addresses of addr on bridge: a CNI configuration names no subnets, so they
// are those of the addresses, and with isGateway the bridge takes their
// gateways.
func (c *config) network(bridge string, addr addressing) (driver.Network, error) {
	var subnets []driver.Subnet
	for _, ipc := range addr.ips {
		s := driver.Subnet{Prefix: ipc.address.Masked()}
		if c.isGateway {
			s.Gateway = ipc.gateway
		}
		if !slices.Contains(subnets, s) {
			subnets = append(subnets, s)
		}
	}
	n, err := driver.NewNetwork(c.Name, c.settings, bridge, subnets, false)
	n.NoMasquerade = !c.IPMasq
	return n, err
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
