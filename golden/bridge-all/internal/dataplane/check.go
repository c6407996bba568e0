package dataplane

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
)

// Check reports whether attachment a on bridge b is still as Attach left
// it: the bridge exists, the host end a.HostIfName is one of its ports and
// up, and its peer is a.IfName in a.NetnsPath, up, with a.MAC when set and
// every one of a.Addresses. It changes nothing, and the error names the
// first difference found.
//
// Routes and MTUs are not compared: a runtime may chain other plugins after
// the one that attached, and those may change them.
func Check(b Bridge, a Attachment) error {
	if err := ValidateIfName("bridge name", b.Name); err != nil {
		return err
	}
	if err := a.validate(); err != nil {
		return err
	}
	host, err := newHandle()
	if err != nil {
		return fmt.Errorf("open netlink socket: %w", err)
	}
	defer host.Close()

	brLink, err := host.LinkByName(b.Name)
	if err != nil {
		return fmt.Errorf("look up bridge %s: %w", b.Name, err)
	}
	if _, ok := brLink.(*netlink.Bridge); !ok {
		return fmt.Errorf("%s is a %s, not a bridge", b.Name, brLink.Type())
	}
	hostEnd, err := host.LinkByName(a.HostIfName)
	if err != nil {
		return fmt.Errorf("look up veth %s: %w", a.HostIfName, err)
	}
	switch {
	case hostEnd.Type() != "veth":
		return fmt.Errorf("%s is a %s, not a veth", a.HostIfName, hostEnd.Type())
	case hostEnd.Attrs().MasterIndex != brLink.Attrs().Index:
		return fmt.Errorf("%s is not a port of bridge %s", a.HostIfName, b.Name)
	case hostEnd.Attrs().Flags&net.FlagUp == 0:
		return fmt.Errorf("%s is down", a.HostIfName)
	}

	ctr, err := openContainerNS(host, a.NetnsPath)
	if err != nil {
		return err
	}
	defer ctr.close()
	link, err := ctr.handle.LinkByName(a.IfName)
	if err != nil {
		return fmt.Errorf("look up %s in %s: %w", a.IfName, ctr, err)
	}
	// A veth's IFLA_LINK is its peer's index, in the peer's namespace.
	switch attrs := link.Attrs(); {
	case link.Type() != "veth" || attrs.ParentIndex != hostEnd.Attrs().Index:
		return fmt.Errorf("%s in %s is not the peer of %s", a.IfName, ctr, a.HostIfName)
	case attrs.Flags&net.FlagUp == 0:
		return fmt.Errorf("%s in %s is down", a.IfName, ctr)
	case len(a.MAC) > 0 && !bytes.Equal(attrs.HardwareAddr, a.MAC):
		return fmt.Errorf("%s in %s has MAC %s, want %s", a.IfName, ctr, attrs.HardwareAddr, a.MAC)
	}
	addrs, err := retryDump(func() ([]netlink.Addr, error) {
		return ctr.handle.AddrList(link, netlink.FAMILY_ALL)
	})
	if err != nil {
		return fmt.Errorf("list addresses of %s in %s: %w", a.IfName, ctr, err)
	}
	have := make([]netip.Prefix, 0, len(addrs))
	for _, addr := range addrs {
		ip, _ := netip.AddrFromSlice(addr.IP)
		bits, _ := addr.Mask.Size()
		have = append(have, netip.PrefixFrom(ip.Unmap(), bits))
	}
	for _, want := range a.Addresses {
		if !slices.Contains(have, want) {
			return fmt.Errorf("%s in %s lacks address %s (has %v)", a.IfName, ctr, want, have)
		}
	}
	return nil
}

// HostMACs returns the MAC addresses of bridge b and of the host end of a,
// for a runtime that reports every interface an attachment involves.
func HostMACs(b Bridge, a Attachment) (bridgeMAC, hostMAC net.HardwareAddr, err error) {
	host, err := newHandle()
	if err != nil {
		return nil, nil, fmt.Errorf("open netlink socket: %w", err)
	}
	defer host.Close()
	br, err := host.LinkByName(b.Name)
	if err != nil {
		return nil, nil, fmt.Errorf("look up bridge %s: %w", b.Name, err)
	}
	veth, err := host.LinkByName(a.HostIfName)
	if err != nil {
		return nil, nil, fmt.Errorf("look up veth %s: %w", a.HostIfName, err)
	}
	return br.Attrs().HardwareAddr, veth.Attrs().HardwareAddr, nil
}

// ValidateNetns checks that path is a network namespace, so that a front
// end can report a bad path as the runtime's mistake before it locks and
// allocates anything.
func ValidateNetns(path string) error {
	return validateNetns(path)
}
