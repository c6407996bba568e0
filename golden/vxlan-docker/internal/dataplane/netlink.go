package dataplane

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// maxDumpAttempts bounds the retries of a dump that the kernel interrupted
// because the table changed while it was being read: under constant churn
// it is better to report the error than to spin.
const maxDumpAttempts = 5

// retryDump runs a netlink dump until it completes without interruption.
func retryDump[T any](dump func() ([]T, error)) ([]T, error) {
	var err error
	for range maxDumpAttempts {
		var items []T
		items, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return items, err
		}
	}
	return nil, err
}

// newHandle opens a route netlink socket in the calling thread's network
// namespace, which is the host's unless the caller switched threads. Asking for NETLINK_ROUTE alone skips the XFRM and netfilter
// sockets that netlink would otherwise open and we never use.
func newHandle() (*netlink.Handle, error) {
	return netlink.NewHandle(unix.NETLINK_ROUTE)
}

// isNotFound reports whether err means the link is not there: a lookup says
// so with LinkNotFoundError, a delete with ENODEV.
func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}

// deleteLink deletes the link called name, if there is one.
func deleteLink(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := h.LinkDel(link); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{
		IP:   p.Addr().AsSlice(),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}
}

// netlinkAddr converts p to an interface address. IPv6 addresses skip
// duplicate address detection: while DAD runs, for a second or more, an
// address is tentative and can neither be a packet's source nor answer
// neighbour solicitations, so the container's first packets, and any sent to
// its gateway, would be lost. The addresses come from IPAM, which is what
// keeps them unique.
func netlinkAddr(p netip.Prefix) *netlink.Addr {
	addr := &netlink.Addr{IPNet: ipNet(p)}
	if p.Addr().Is6() {
		addr.Flags = unix.IFA_F_NODAD
	}
	return addr
}

func netlinkRoute(r Route, linkIndex int) *netlink.Route {
	route := &netlink.Route{
		LinkIndex: linkIndex,
		Dst:       ipNet(r.Destination),
		Priority:  int(r.Metric),
		// As netavark's routes: ip route shows "proto static".
		Protocol: unix.RTPROT_STATIC,
	}
	if r.Gateway.IsValid() {
		route.Gw = r.Gateway.AsSlice()
	} else {
		// A route without a next hop is directly connected: give it
		// link scope, as iproute2 does, like the subnet's own route.
		route.Scope = netlink.SCOPE_LINK
	}
	return route
}

// bridgePorts counts the ports of the bridge with index in the calling
// thread's namespace: those that are host ends made by Attach (ours) and
// the others. It asks the kernel only for the links of that master (a
// filtered dump, as `ip link show master BR` makes) instead of listing and
// decoding every link of the host, which with hundreds of containers
// attached costs more than the rest of a teardown. A kernel that ignores
// the filter sends every link, so each one's master is checked.
func bridgePorts(index int) (ours, others int, err error) {
	msgs, err := retryDump(func() ([][]byte, error) {
		req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
		req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
		req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, nl.Uint32Attr(uint32(index))))
		return req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	})
	if err != nil {
		return 0, 0, err
	}
	for _, m := range msgs {
		if len(m) < unix.SizeofIfInfomsg {
			return 0, 0, errors.New("short link message")
		}
		attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfInfomsg:])
		if err != nil {
			return 0, 0, fmt.Errorf("parse link message: %w", err)
		}
		var name string
		port := false
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.IFLA_MASTER:
				port = len(a.Value) == 4 && int(nl.NativeEndian().Uint32(a.Value)) == index
			case unix.IFLA_IFNAME:
				name = strings.TrimRight(string(a.Value), "\x00")
			}
		}
		switch {
		case !port:
		case IsHostIfName(name):
			ours++
		default:
			others++
		}
	}
	return ours, others, nil
}
