// Package overlay is the per-host data plane of a VXLAN network that spans
// hosts, over netlink only. Each segment (one VNI) is, on every host that
// has containers on it, a bridge vxbr<VNI> with the segment's gateway
// addresses and a VXLAN device vxlan<VNI> as one of its ports; containers
// attach to the bridge with package dataplane, as to any bridge. The
// VXLAN device is the bridge's Uplink: dataplane.Detach deletes it with the
// bridge when the segment's last container on the host has gone.
//
// The VXLAN device neither learns nor floods. What it knows of the other
// hosts' containers is what the caller programs (Sync, Add, Delete): for each
// remote container a forwarding entry, its MAC to its host's VTEP address,
// and a neighbour entry for each of its addresses, from which the device
// answers ARP requests and neighbour solicitations itself (proxy mode). So
// no broadcast or multicast leaves the host, and the underlay needs no
// multicast. The gateway addresses are the same on every host, and so, since
// package dataplane derives a bridge's MAC from its owner and name, is the
// gateway's MAC: a container reaches its own host's bridge through them.
//
// Like package dataplane, everything here works in the calling thread's
// network namespace. The caller holds dataplane.Locked for the bridge's name
// around Ensure, dataplane.Attach and dataplane.Detach; and it
// makes one segment's calls of Sync, Add and Delete one at a time, in the
// order of the changes they follow, since each writes what it was given.
package overlay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"example.com/demo/internal/dataplane"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DefaultPort is the IANA port of VXLAN, which Ensure uses unless the
// Segment says otherwise.
const DefaultPort = 4789

// maxVNI is the largest VXLAN network identifier: VNIs are 24 bits.
const maxVNI = 1<<24 - 1

// BridgeName is the name of the bridge of segment vni on each host:
// "vxbr" and the VNI in decimal, at most 12 bytes.
func BridgeName(vni uint32) string { return "vxbr" + strconv.FormatUint(uint64(vni), 10) }

// VXLANName is the name of the VXLAN device of segment vni on each host:
// "vxlan" and the VNI in decimal, at most 13 bytes.
func VXLANName(vni uint32) string { return "vxlan" + strconv.FormatUint(uint64(vni), 10) }

// Segment is one VXLAN segment as this host sees it.
type Segment struct {
	// VNI is the segment's VXLAN network identifier, below 2^24.
	VNI uint32
	// VTEP is this host's address on the underlay, where the other hosts
	// send the segment's traffic for it. It must be an address of this
	// host.
	VTEP netip.Addr
	// Device is the underlay interface, which the VXLAN device sends
	// through. Empty takes the interface that has VTEP.
	Device string
	// Port is the UDP port of VXLAN, the same on every host; 0 takes
	// DefaultPort.
	Port int
	// MTU of the bridge, the VXLAN device and the containers' interfaces.
	// 0 takes Device's MTU less the VXLAN encapsulation: 50 bytes over an
	// IPv4 underlay, 70 over IPv6.
	MTU int
	// Gateways are the bridge's addresses with their subnet's prefix
	// length (10.42.0.1/24, fd42::1/64), the same on every host.
	Gateways []netip.Prefix
	// Owner is the bridge's owner, as dataplane.Bridge.Owner: the plugin's
	// name.
	Owner string
}

// Ensure makes sure that segment s is set up on this host: its bridge, up,
// with the gateways, and its VXLAN device, up, a port of the bridge, with
// learning off and proxy on, bound to s.VTEP and s.Device. It returns the
// bridge to attach the segment's containers to with dataplane.Attach and to
// detach them from with dataplane.Detach; its MTU is the VXLAN device's, so
// that the containers' packets fit in the tunnel.
//
// Ensure is idempotent: what exists is kept, and only what is missing is
// added. A VXLAN device of that name with other settings (VNI, VTEP, port,
// underlay device, learning or proxy) is an error, and is left as it is:
// delete it, once its containers are gone, to set it up anew. So is a VTEP
// address that is not this host's, before anything is created. If a later
// step fails, Ensure removes what this call created.
func Ensure(s Segment) (_ dataplane.Bridge, err error) {
	if err := s.validate(); err != nil {
		return dataplane.Bridge{}, err
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return dataplane.Bridge{}, fmt.Errorf("open netlink socket: %w", err)
	}
	defer h.Close()

	under, err := underlay(h, s)
	if err != nil {
		return dataplane.Bridge{}, fmt.Errorf("VNI %d: %w", s.VNI, err)
	}
	want, err := s.vxlan(under)
	if err != nil {
		return dataplane.Bridge{}, err
	}
	vx, err := existingVXLAN(h, want)
	if err != nil {
		return dataplane.Bridge{}, err
	}

	b := dataplane.Bridge{Name: BridgeName(s.VNI), MTU: want.MTU, Gateways: s.Gateways, Owner: s.Owner, Uplink: VXLANName(s.VNI)}
	br, undoBridge, err := dataplane.EnsureBridge(h, b)
	if err != nil {
		return dataplane.Bridge{}, err
	}
	var created netlink.Link
	defer func() {
		if err == nil {
			return
		}
		var errs []error
		if created != nil {
			if derr := h.LinkDel(created); derr != nil && !isNotFound(derr) {
				errs = append(errs, fmt.Errorf("delete %s: %w", want.Name, derr))
			}
		}
		if uerr := undoBridge(); uerr != nil {
			errs = append(errs, uerr)
		}
		if len(errs) > 0 {
			err = errors.Join(err, fmt.Errorf("roll back: %w", errors.Join(errs...)))
		}
	}()

	if vx == nil {
		if err := h.LinkAdd(want); err != nil {
			return dataplane.Bridge{}, fmt.Errorf("create VXLAN device %s (VNI %d, VTEP %s on %s): %w",
				want.Name, s.VNI, s.VTEP, under.Attrs().Name, err)
		}
		created, vx = want, want
	}
	// The master is set apart from LinkAdd, as in package dataplane, so
	// that a failure finds the device in created.
	if vx.MasterIndex != br.Index {
		if err := h.LinkSetMasterByIndex(vx, br.Index); err != nil {
			return dataplane.Bridge{}, fmt.Errorf("attach %s to bridge %s: %w", vx.Name, br.Name, err)
		}
	}
	if vx.Flags&net.FlagUp == 0 {
		if err := h.LinkSetUp(vx); err != nil {
			return dataplane.Bridge{}, fmt.Errorf("set %s up: %w", vx.Name, err)
		}
	}
	b.MTU = vx.MTU
	return b, nil
}

func (s Segment) validate() error {
	switch {
	case s.VNI > maxVNI:
		return fmt.Errorf("VNI %d is more than %d", s.VNI, maxVNI)
	case !s.VTEP.IsValid():
		return fmt.Errorf("VNI %d: missing VTEP address", s.VNI)
	case s.VTEP.Is4In6():
		return fmt.Errorf("VNI %d: VTEP %s is IPv4-mapped IPv6: give it as plain IPv4", s.VNI, s.VTEP)
	case s.VTEP.IsUnspecified() || s.VTEP.IsMulticast():
		return fmt.Errorf("VNI %d: VTEP %s is not a unicast address", s.VNI, s.VTEP)
	case s.Port < 0 || s.Port > 65535:
		return fmt.Errorf("VNI %d: port %d out of range", s.VNI, s.Port)
	case s.MTU < 0:
		return fmt.Errorf("VNI %d: negative MTU %d", s.VNI, s.MTU)
	}
	if s.Device != "" {
		return dataplane.ValidateIfName("underlay device", s.Device)
	}
	return nil
}

// CheckVTEP checks that vtep is an address of this host, and that device,
// if not empty, is an interface of it.
func CheckVTEP(vtep netip.Addr, device string) error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open netlink socket: %w", err)
	}
	defer h.Close()
	_, err = underlay(h, Segment{VTEP: vtep, Device: device})
	return err
}

// underlay returns the underlay device of s: s.Device, or the link with
// s.VTEP. Either way s.VTEP must be an address of the host.
func underlay(h *netlink.Handle, s Segment) (netlink.Link, error) {
	family := netlink.FAMILY_V4
	if s.VTEP.Is6() {
		family = netlink.FAMILY_V6
	}
	addrs, err := h.AddrList(nil, family)
	if err != nil {
		return nil, fmt.Errorf("list the host's addresses: %w", err)
	}
	index := 0
	for _, a := range addrs {
		if ip, _ := netip.AddrFromSlice(a.IP); ip.Unmap() == s.VTEP {
			index = a.LinkIndex
			break
		}
	}
	if index == 0 {
		return nil, fmt.Errorf("VTEP %s is not an address of this host", s.VTEP)
	}
	var link netlink.Link
	if s.Device != "" {
		link, err = h.LinkByName(s.Device)
	} else {
		link, err = h.LinkByIndex(index)
	}
	if err != nil {
		return nil, fmt.Errorf("look up the underlay device: %w", err)
	}
	return link, nil
}

// vxlan returns the VXLAN device that Ensure creates for s over under.
func (s Segment) vxlan(under netlink.Link) (*netlink.Vxlan, error) {
	overhead := 50 // outer Ethernet 14, IPv4 20, UDP 8, VXLAN 8
	if s.VTEP.Is6() {
		overhead = 70 // IPv6 40
	}
	maxMTU := under.Attrs().MTU - overhead
	mtu := s.MTU
	if mtu == 0 {
		mtu = maxMTU
	}
	if mtu > maxMTU {
		return nil, fmt.Errorf("VNI %d: MTU %d is more than %s's %d less the VXLAN encapsulation's %d bytes",
			s.VNI, mtu, under.Attrs().Name, under.Attrs().MTU, overhead)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = VXLANName(s.VNI)
	attrs.MTU = mtu
	attrs.Flags = net.FlagUp
	port := s.Port
	if port == 0 {
		port = DefaultPort
	}
	return &netlink.Vxlan{
		LinkAttrs:    attrs,
		VxlanId:      int(s.VNI),
		VtepDevIndex: under.Attrs().Index,
		SrcAddr:      s.VTEP.AsSlice(),
		Port:         port,
		Learning:     false,
		Proxy:        true,
	}, nil
}

// existingVXLAN returns the VXLAN device called want.Name, or nil if there
// is none, and an error if it differs from want.
func existingVXLAN(h *netlink.Handle, want *netlink.Vxlan) (*netlink.Vxlan, error) {
	link, err := h.LinkByName(want.Name)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", want.Name, err)
	}
	vx, ok := link.(*netlink.Vxlan)
	if !ok {
		return nil, fmt.Errorf("%s exists and is a %s, not a VXLAN device", want.Name, link.Type())
	}
	var diff string
	switch {
	case vx.VxlanId != want.VxlanId:
		diff = fmt.Sprintf("VNI %d", vx.VxlanId)
	case !vx.SrcAddr.Equal(want.SrcAddr):
		diff = fmt.Sprintf("VTEP %s", vx.SrcAddr)
	case vx.Port != want.Port:
		diff = fmt.Sprintf("port %d", vx.Port)
	case vx.VtepDevIndex != want.VtepDevIndex:
		diff = fmt.Sprintf("underlay device index %d", vx.VtepDevIndex)
	case vx.Learning || !vx.Proxy:
		diff = fmt.Sprintf("learning %t and proxy %t", vx.Learning, vx.Proxy)
	default:
		return vx, nil
	}
	return nil, fmt.Errorf("%s exists with %s, unlike VNI %d, VTEP %s, port %d on device index %d with learning off and proxy on: remove it to set it up anew",
		want.Name, diff, want.VxlanId, want.SrcAddr, want.Port, want.VtepDevIndex)
}

// isNotFound reports whether err means the link is not there: a lookup says
// so with LinkNotFoundError, a delete with ENODEV.
func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}
