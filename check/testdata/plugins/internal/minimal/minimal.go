// Package minimal is a small netavark plugin that follows the protocol, for
// the tests of package check. The plugins in check/testdata/plugins run it:
// "good" as it is, each other one with one rule broken through a field of
// [Plugin].
//
// Its setup creates a veth pair inside the container's netns, named after
// network_options.interface_name, with the static IPs; teardown removes it.
// Nothing is done on the host, so it refuses to publish ports.
package minimal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// Plugin is the plugin's behavior. [New] returns one that follows the
// protocol; a broken plugin replaces one field.
type Plugin struct {
	// Info is the answer of info.
	Info func() any
	// Create returns the answer of create with network.
	Create func(network map[string]json.RawMessage) (any, error)
	// Setup sets req up in the netns at path and returns the answer.
	Setup func(path string, req types.NetworkPluginExec) (any, error)
	// Teardown tears req down from the netns at path.
	Teardown func(path string, req types.NetworkPluginExec) error
	// Fail writes the answer of a failure with msg to w and returns the
	// exit status.
	Fail func(w io.Writer, msg string) int
}

// New returns a plugin that follows the protocol.
func New() *Plugin {
	return &Plugin{
		Info:     func() any { return types.Info{Version: "0.0.1", APIVersion: types.APIVersion} },
		Create:   Create,
		Setup:    Setup,
		Teardown: Teardown,
		Fail:     Fail,
	}
}

// Main runs the subcommand of the program's arguments and returns the exit
// status.
func (p *Plugin) Main() int {
	answer, err := p.dispatch(os.Args[1:])
	if err != nil {
		return p.Fail(os.Stdout, err.Error())
	}
	b, err := json.Marshal(answer)
	if err != nil {
		return p.Fail(os.Stdout, err.Error())
	}
	fmt.Printf("%s\n", b)
	return 0
}

func (p *Plugin) dispatch(args []string) (any, error) {
	cmd := "info"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "info":
		return p.Info(), nil
	case "create":
		var network map[string]json.RawMessage
		if err := decodeStdin(&network); err != nil {
			return nil, err
		}
		return p.Create(network)
	case "setup", "teardown":
		if len(args) < 2 || args[1] == "" {
			return nil, fmt.Errorf("%s: missing netns path", cmd)
		}
		var req types.NetworkPluginExec
		if err := decodeStdin(&req); err != nil {
			return nil, err
		}
		if cmd == "setup" {
			return p.Setup(args[1], req)
		}
		return struct{}{}, p.Teardown(args[1], req)
	}
	return nil, fmt.Errorf("unknown subcommand %q", cmd)
}

func decodeStdin(v any) error {
	b, err := io.ReadAll(os.Stdin)
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode stdin: %w", err)
	}
	return nil
}

// Fail writes {"error":msg} and returns 1.
func Fail(w io.Writer, msg string) int {
	b, _ := json.Marshal(types.ErrorResponse{Error: msg})
	fmt.Fprintf(w, "%s\n", b)
	return 1
}

// Create hands the network back with dns_enabled false, keeping every key.
func Create(network map[string]json.RawMessage) (any, error) {
	for _, k := range []string{"name", "id", "driver"} {
		if _, ok := network[k]; !ok {
			return nil, fmt.Errorf("network without %s", k)
		}
	}
	network["dns_enabled"] = json.RawMessage("false")
	for _, k := range []string{"internal", "ipv6_enabled"} {
		if _, ok := network[k]; !ok {
			network[k] = json.RawMessage("false")
		}
	}
	return network, nil
}

// peerName is the name of the other end of the container's veth.
func peerName(ifname string) string {
	return "mp-" + ifname
}

// Setup refuses port mappings, which it could not publish, and sets the
// container up with SetupVeth.
func Setup(path string, req types.NetworkPluginExec) (any, error) {
	if len(req.PortMappings) > 0 {
		return nil, errors.New("this plugin publishes no ports")
	}
	return SetupVeth(path, req)
}

// SetupVeth creates a veth pair named after the interface in the netns at
// path, with the static IPs, and returns its status.
func SetupVeth(path string, req types.NetworkPluginExec) (any, error) {
	h, err := handleAt(path)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	ifname := req.NetworkOptions.InterfaceName
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: ifname}, PeerName: peerName(ifname)}
	if mac := req.NetworkOptions.StaticMAC; len(mac) > 0 {
		veth.HardwareAddr = net.HardwareAddr(mac)
	}
	if err := h.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("add veth %s: %w", ifname, err)
	}
	link, err := h.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("find veth %s: %w", ifname, err)
	}
	iface := types.NetInterface{MACAddress: types.HardwareAddr(link.Attrs().HardwareAddr)}
	for _, ip := range req.NetworkOptions.StaticIPs {
		for _, s := range req.Network.Subnets {
			if !s.Subnet.Masked().Contains(ip) {
				continue
			}
			prefix := netip.PrefixFrom(ip, s.Subnet.Bits())
			addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(prefix.Bits(), ip.BitLen())}}
			if err := h.AddrAdd(link, addr); err != nil {
				return nil, fmt.Errorf("add address %s: %w", prefix, err)
			}
			iface.Subnets = append(iface.Subnets, types.NetAddress{IPNet: types.IPNet{Prefix: prefix}, Gateway: s.Gateway})
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("set %s up: %w", ifname, err)
	}
	return types.StatusBlock{Interfaces: map[string]types.NetInterface{ifname: iface}}, nil
}

// Teardown removes the container's veth pair. A netns or an interface that
// is not there is no error.
func Teardown(path string, req types.NetworkPluginExec) error {
	err := RemoveVeth(path, req.NetworkOptions.InterfaceName)
	if errors.Is(err, ErrNoLink) {
		return nil
	}
	return err
}

// ErrNoLink is the error of RemoveVeth when there is nothing to remove.
var ErrNoLink = errors.New("no such interface")

// RemoveVeth deletes the interface ifname in the netns at path. It returns
// ErrNoLink if the netns or the interface does not exist.
func RemoveVeth(path, ifname string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("netns %s: %w", path, ErrNoLink)
	}
	h, err := handleAt(path)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(ifname)
	if notFound := (netlink.LinkNotFoundError{}); errors.As(err, &notFound) {
		return fmt.Errorf("%s: %w", ifname, ErrNoLink)
	}
	if err != nil {
		return fmt.Errorf("find %s: %w", ifname, err)
	}
	if err := h.LinkDel(link); err != nil {
		return fmt.Errorf("delete %s: %w", ifname, err)
	}
	return nil
}

// handleAt returns a netlink handle in the netns at path.
func handleAt(path string) (*netlink.Handle, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("netlink in netns %s: %w", path, err)
	}
	return h, nil
}
