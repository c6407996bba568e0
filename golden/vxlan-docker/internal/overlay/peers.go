package overlay

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"example.com/demo/internal/agentapi"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Peer is a container of the segment on another host, as the VXLAN device
// needs to know it.
type Peer struct {
	// MAC is the address of the container's interface, as
	// dataplane.Attach reports it.
	MAC net.HardwareAddr
	// Addresses are the container's addresses on the segment, IPv4 and
	// IPv6.
	Addresses []netip.Addr
	// VTEP is the underlay address of the container's host.
	VTEP netip.Addr
}

// Peers returns the cluster's endpoints as the entries of a VXLAN device.
// An endpoint whose MAC does not parse is left out: it cannot be reached.
func Peers(eps []agentapi.Endpoint) []Peer {
	out := make([]Peer, 0, len(eps))
	for _, ep := range eps {
		mac, err := net.ParseMAC(ep.MAC)
		if err != nil {
			continue
		}
		p := Peer{MAC: mac, VTEP: ep.VTEP}
		for _, addr := range ep.Addresses {
			p.Addresses = append(p.Addresses, addr.Addr())
		}
		out = append(out, p)
	}
	return out
}

// Sync makes the remote entries of segment vni's VXLAN device exactly
// peers: a static forwarding entry (bridge fdb ... dst VTEP self
// permanent) for each peer's MAC, and a permanent neighbour entry (ip neigh
// ... nud permanent) for each of its addresses, from which the device
// answers ARP and neighbour discovery. It reads the device's entries once,
// then adds or replaces those that are missing or differ, and deletes those
// that no peer has; entries that are already right are not touched, so
// traffic to them never stops. Neighbour entries that are not permanent are
// the kernel's own, and left alone.
//
// Peers at this host's own VTEP are skipped: their containers are on the
// bridge already, so the caller may give every container of the segment.
// Sync checks all the peers before it changes anything: two peers with one
// MAC or one address are an error.
func Sync(vni uint32, peers []Peer) error {
	h, vx, err := openVXLAN(vni)
	if err != nil {
		return err
	}
	defer h.Close()
	want, err := desired(vx, peers)
	if err != nil {
		return err
	}
	fdb, neighs, err := current(h, vx)
	if err != nil {
		return err
	}
	for k := range want.fdb {
		if n, ok := fdb[k]; !ok || n.State&netlink.NUD_PERMANENT == 0 {
			if err := setFDB(h, vx, k); err != nil {
				return err
			}
		}
	}
	for ip, mac := range want.neighs {
		if got, ok := neighs[ip]; !ok || got != mac {
			if err := setNeigh(h, vx, ip, mac); err != nil {
				return err
			}
		}
	}
	// Deleted after the additions, so that a peer that moved to another
	// host is replaced in place rather than missing for a moment.
	for k, n := range fdb {
		if _, ok := want.fdb[k]; !ok {
			if err := deleteFDB(h, n); err != nil {
				return err
			}
		}
	}
	for ip := range neighs {
		if _, ok := want.neighs[ip]; !ok {
			if err := deleteNeigh(h, vx, ip); err != nil {
				return err
			}
		}
	}
	return nil
}

// Add adds or replaces the entries of peer p on segment vni's VXLAN device,
// for a caller that follows the segment's containers one change at a time;
// a peer at this host's own VTEP is skipped.
func Add(vni uint32, p Peer) error {
	h, vx, err := openVXLAN(vni)
	if err != nil {
		return err
	}
	defer h.Close()
	want, err := desired(vx, []Peer{p})
	if err != nil {
		return err
	}
	for k := range want.fdb {
		if err := setFDB(h, vx, k); err != nil {
			return err
		}
	}
	for ip, mac := range want.neighs {
		if err := setNeigh(h, vx, ip, mac); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the entries of peer p from segment vni's VXLAN device:
// its forwarding entry to p.VTEP, and the neighbour entries of its
// addresses that still give its MAC, so that a Delete that comes after the
// Add of a container that took over an address keeps that one. Entries
// that are gone already, and the device itself being gone, are not errors.
// It reads only p's entries, not the device's table: its cost does not
// grow with the segment.
func Delete(vni uint32, p Peer) error {
	h, vx, err := openVXLAN(vni)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer h.Close()
	want, err := desired(vx, []Peer{p})
	if err != nil {
		return err
	}
	for k := range want.fdb {
		n := netlink.Neigh{LinkIndex: vx.Index, HardwareAddr: net.HardwareAddr(k.mac[:]), IP: k.vtep.AsSlice()}
		if err := deleteFDB(h, n); err != nil {
			return err
		}
	}
	for ip, m := range want.neighs {
		owner, found, err := neighMAC(vx, ip)
		if err != nil {
			return err
		}
		if found && owner == m {
			if err := deleteNeigh(h, vx, ip); err != nil {
				return err
			}
		}
	}
	return nil
}

// mac is a MAC address usable as a map key.
type mac [6]byte

// fdbKey is a forwarding entry: a MAC behind a remote VTEP.
type fdbKey struct {
	mac  mac
	vtep netip.Addr
}

// entries are the remote entries of a VXLAN device.
type entries struct {
	fdb    map[fdbKey]struct{}
	neighs map[netip.Addr]mac
}

// openVXLAN opens a netlink handle and looks up segment vni's VXLAN device.
func openVXLAN(vni uint32) (*netlink.Handle, *netlink.Vxlan, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, nil, fmt.Errorf("open netlink socket: %w", err)
	}
	name := VXLANName(vni)
	link, err := h.LinkByName(name)
	if err != nil {
		h.Close()
		return nil, nil, fmt.Errorf("look up %s: %w", name, err)
	}
	vx, ok := link.(*netlink.Vxlan)
	if !ok {
		h.Close()
		return nil, nil, fmt.Errorf("%s is a %s, not a VXLAN device", name, link.Type())
	}
	return h, vx, nil
}

// desired checks peers and returns their entries on vx.
func desired(vx *netlink.Vxlan, peers []Peer) (entries, error) {
	local, _ := netip.AddrFromSlice(vx.SrcAddr)
	local = local.Unmap()
	want := entries{fdb: make(map[fdbKey]struct{}), neighs: make(map[netip.Addr]mac)}
	macs := make(map[mac]bool)
	for _, p := range peers {
		if err := p.validate(local); err != nil {
			return entries{}, err
		}
		if p.VTEP == local {
			continue
		}
		m := mac(p.MAC)
		if macs[m] {
			return entries{}, fmt.Errorf("two peers with MAC %s", p.MAC)
		}
		macs[m] = true
		want.fdb[fdbKey{m, p.VTEP}] = struct{}{}
		for _, a := range p.Addresses {
			if _, dup := want.neighs[a]; dup {
				return entries{}, fmt.Errorf("two peers with address %s", a)
			}
			want.neighs[a] = m
		}
	}
	return want, nil
}

func (p Peer) validate(local netip.Addr) error {
	switch {
	case len(p.MAC) != 6:
		return fmt.Errorf("peer MAC %q is not 6 bytes long", p.MAC)
	case p.MAC[0]&1 != 0 || bytes.Equal(p.MAC, make([]byte, 6)):
		return fmt.Errorf("peer MAC %s is not a unicast address", p.MAC)
	case !p.VTEP.IsValid() || p.VTEP.Is4In6():
		return fmt.Errorf("peer %s: VTEP %s is not a plain IPv4 or IPv6 address", p.MAC, p.VTEP)
	case local.IsValid() && p.VTEP.Is4() != local.Is4():
		return fmt.Errorf("peer %s: VTEP %s and this host's %s are of different IP versions", p.MAC, p.VTEP, local)
	}
	for _, a := range p.Addresses {
		if !a.IsValid() || a.Is4In6() {
			return fmt.Errorf("peer %s: address %s is not a plain IPv4 or IPv6 address", p.MAC, a)
		}
	}
	return nil
}

// current reads vx's entries: its forwarding entries, each as the kernel
// gave it, and its permanent neighbour entries.
func current(h *netlink.Handle, vx *netlink.Vxlan) (map[fdbKey]netlink.Neigh, map[netip.Addr]mac, error) {
	list, err := listNeigh(h, vx, unix.AF_BRIDGE)
	if err != nil {
		return nil, nil, err
	}
	fdb := make(map[fdbKey]netlink.Neigh)
	for _, n := range list {
		// The bridge's own entries for its port (master) are not the
		// device's.
		if n.Flags&netlink.NTF_SELF == 0 || len(n.HardwareAddr) != 6 {
			continue
		}
		vtep, _ := netip.AddrFromSlice(n.IP)
		fdb[fdbKey{mac(n.HardwareAddr), vtep.Unmap()}] = n
	}
	neighs := make(map[netip.Addr]mac)
	for _, family := range []int{unix.AF_INET, unix.AF_INET6} {
		list, err := listNeigh(h, vx, family)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range list {
			if n.State&netlink.NUD_PERMANENT == 0 || len(n.HardwareAddr) != 6 {
				continue
			}
			ip, _ := netip.AddrFromSlice(n.IP)
			neighs[ip.Unmap()] = mac(n.HardwareAddr)
		}
	}
	return fdb, neighs, nil
}

// maxDumpAttempts bounds the retries of a dump that the kernel interrupted
// because the table changed while it was being read.
const maxDumpAttempts = 5

// listNeigh lists the entries of family on vx, again while the kernel
// reports the dump interrupted.
func listNeigh(h *netlink.Handle, vx *netlink.Vxlan, family int) ([]netlink.Neigh, error) {
	var err error
	for range maxDumpAttempts {
		var list []netlink.Neigh
		list, err = h.NeighList(vx.Index, family)
		if err == nil {
			return list, nil
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return nil, fmt.Errorf("list the entries of %s: %w", vx.Name, err)
}

func setFDB(h *netlink.Handle, vx *netlink.Vxlan, k fdbKey) error {
	err := h.NeighSet(&netlink.Neigh{
		LinkIndex:    vx.Index,
		Family:       unix.AF_BRIDGE,
		State:        netlink.NUD_PERMANENT,
		Flags:        netlink.NTF_SELF,
		HardwareAddr: net.HardwareAddr(k.mac[:]),
		IP:           k.vtep.AsSlice(),
	})
	if err != nil {
		return fmt.Errorf("%s: forward %s to %s: %w", vx.Name, net.HardwareAddr(k.mac[:]), k.vtep, err)
	}
	return nil
}

// deleteFDB deletes the forwarding entry that n, from current, describes:
// only its remote, should the MAC have others.
func deleteFDB(h *netlink.Handle, n netlink.Neigh) error {
	err := h.NeighDel(&netlink.Neigh{
		LinkIndex:    n.LinkIndex,
		Family:       unix.AF_BRIDGE,
		Flags:        netlink.NTF_SELF,
		HardwareAddr: n.HardwareAddr,
		IP:           n.IP,
		VNI:          n.VNI,
	})
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete the forwarding entry of %s to %s: %w", n.HardwareAddr, n.IP, err)
	}
	return nil
}

func setNeigh(h *netlink.Handle, vx *netlink.Vxlan, ip netip.Addr, m mac) error {
	err := h.NeighSet(&netlink.Neigh{
		LinkIndex:    vx.Index,
		Family:       family(ip),
		State:        netlink.NUD_PERMANENT,
		IP:           ip.AsSlice(),
		HardwareAddr: net.HardwareAddr(m[:]),
	})
	if err != nil {
		return fmt.Errorf("%s: add neighbour %s at %s: %w", vx.Name, ip, net.HardwareAddr(m[:]), err)
	}
	return nil
}

func deleteNeigh(h *netlink.Handle, vx *netlink.Vxlan, ip netip.Addr) error {
	err := h.NeighDel(&netlink.Neigh{LinkIndex: vx.Index, Family: family(ip), IP: ip.AsSlice()})
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%s: delete neighbour %s: %w", vx.Name, ip, err)
	}
	return nil
}

func family(ip netip.Addr) int {
	if ip.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// neighMAC returns the MAC of the permanent neighbour entry of ip on vx,
// and whether there is one, with one request for that entry alone (in the
// calling thread's network namespace, as h's).
func neighMAC(vx *netlink.Vxlan, ip netip.Addr) (mac, bool, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETNEIGH, 0)
	req.AddData(&netlink.Ndmsg{Family: uint8(family(ip)), Index: uint32(vx.Index)})
	req.AddData(nl.NewRtAttr(unix.NDA_DST, ip.AsSlice()))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWNEIGH)
	if errors.Is(err, unix.ENOENT) {
		return mac{}, false, nil
	}
	if err != nil {
		return mac{}, false, fmt.Errorf("%s: read neighbour %s: %w", vx.Name, ip, err)
	}
	for _, m := range msgs {
		n, err := netlink.NeighDeserialize(m)
		if err != nil {
			return mac{}, false, fmt.Errorf("%s: read neighbour %s: %w", vx.Name, ip, err)
		}
		if n.LinkIndex == vx.Index && n.State&netlink.NUD_PERMANENT != 0 && len(n.HardwareAddr) == 6 {
			return mac(n.HardwareAddr), true, nil
		}
	}
	return mac{}, false, nil
}
