package dataplane

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Attach connects the container interface a to bridge b, creating the bridge
// if it is missing; an existing bridge is kept as it is, but gets any of
// b.Gateways it lacks and is set up. The container end of the veth pair is
// created directly in a.NetnsPath rather than created on the host and moved,
// which saves a round of namespace work per container.
//
// If a step fails, Attach undoes what this call created (the veth pair,
// gateway addresses it added, the bridge if it created it) and returns the
// step's error, joined with any error from the undo.
//
// Callers hold Lock(dir, b.Name) around Attach and Detach.
func Attach(b Bridge, a Attachment) (_ Result, err error) {
	if err := b.validate(); err != nil {
		return Result{}, err
	}
	if err := a.validate(); err != nil {
		return Result{}, err
	}
	a.MTU = cmp.Or(a.MTU, b.MTU)

	host, err := newHandle()
	if err != nil {
		return Result{}, fmt.Errorf("open netlink socket: %w", err)
	}
	defer host.Close()

	ctr, err := openContainerNS(host, a.NetnsPath)
	if err != nil {
		return Result{}, err
	}
	defer ctr.close()

	var undo undoStack
	success := false
	defer func() {
		if !success {
			if uerr := undo.run(); uerr != nil {
				err = errors.Join(err, fmt.Errorf("roll back: %w", uerr))
			}
		}
	}()

	br, err := ensureBridge(host, b, &undo)
	if err != nil {
		return Result{}, err
	}
	if err := addGateways(host, br, b, &undo); err != nil {
		return Result{}, err
	}
	if err := createVeth(host, br, ctr, a, &undo); err != nil {
		return Result{}, err
	}
	link, err := ctr.handle.LinkByName(a.IfName)
	if err != nil {
		return Result{}, fmt.Errorf("look up %s in %s: %w", a.IfName, ctr, err)
	}
	if a.NetnsPath != "" {
		if err := configureContainer(ctr, link, a); err != nil {
			return Result{}, err
		}
	}
	// Last, since it is not undone: like netavark, the plugin never turns
	// the host's forwarding off again.
	if err := setSysctls(hostSysctls(b)); err != nil {
		return Result{}, err
	}
	success = true
	return Result{
		IfName:    a.IfName,
		MAC:       link.Attrs().HardwareAddr,
		Addresses: slices.Clone(a.Addresses),
	}, nil
}

// undoStack holds the inverse of each change Attach has made so far.
type undoStack []func() error

func (u *undoStack) push(undo func() error) { *u = append(*u, undo) }

// run undoes the changes newest first, since later ones may depend on
// earlier ones, and goes on past a failure so that one stuck step does not
// leak the others.
func (u undoStack) run() error {
	var errs []error
	for _, undo := range slices.Backward(u) {
		if err := undo(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// containerNS is where the container end of the veth lives: the container's
// network namespace, or the host's when NetnsPath is empty.
type containerNS struct {
	path   string
	handle *netlink.Handle
	// peerNS tells netlink.Veth to create the peer in the namespace; nil
	// creates it beside the host end.
	peerNS any
	close  func()
}

// openContainerNS opens a netlink handle inside the namespace at path. The
// handle's socket is bound to the namespace once, so the calls made through
// it need no setns and no locked OS thread.
func openContainerNS(host *netlink.Handle, path string) (*containerNS, error) {
	if path == "" {
		return &containerNS{handle: host, close: func() {}}, nil
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", path, err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("open netlink socket in %s: %w", path, err)
	}
	return &containerNS{
		path:   path,
		handle: h,
		peerNS: netlink.NsFd(ns),
		close: func() {
			h.Close()
			ns.Close()
		},
	}, nil
}

func (c *containerNS) String() string {
	if c.path == "" {
		return "the host netns"
	}
	return c.path
}

// ensureBridge returns the bridge b.Name, creating it if it is missing.
func ensureBridge(h *netlink.Handle, b Bridge, undo *undoStack) (*netlink.Bridge, error) {
	link, err := h.LinkByName(b.Name)
	if err == nil {
		return useBridge(h, link)
	}
	if !isNotFound(err) {
		return nil, fmt.Errorf("look up bridge %s: %w", b.Name, err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = b.Name
	attrs.MTU = b.MTU
	attrs.Flags = net.FlagUp
	// Without an address of its own the bridge takes its lowest port's MAC,
	// so the gateway's MAC would change as containers come and go and their
	// neighbour caches would point at the old one. Setting one at creation
	// pins it; deriving it from the owner marks the bridge as the owner's
	// from the moment it exists, before its alias is set.
	attrs.HardwareAddr = ownerMAC(b)
	br := &netlink.Bridge{LinkAttrs: attrs}
	if err := h.LinkAdd(br); err != nil {
		return nil, fmt.Errorf("create bridge %s: %w", b.Name, err)
	}
	undo.push(func() error {
		if err := h.LinkDel(br); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete bridge %s: %w", b.Name, err)
		}
		return nil
	})
	// The kernel takes no alias at creation.
	if err := h.LinkSetAlias(br, b.Owner); err != nil {
		return nil, fmt.Errorf("set the alias of bridge %s: %w", b.Name, err)
	}
	if err := setSysctls(bridgeSysctls(b)); err != nil {
		return nil, fmt.Errorf("bridge %s: %w", b.Name, err)
	}
	return br, nil
}

// useBridge checks that an existing link is a bridge and sets it up.
func useBridge(h *netlink.Handle, link netlink.Link) (*netlink.Bridge, error) {
	br, ok := link.(*netlink.Bridge)
	if !ok {
		return nil, fmt.Errorf("%s exists and is a %s, not a bridge", link.Attrs().Name, link.Type())
	}
	if br.Flags&net.FlagUp == 0 {
		if err := h.LinkSetUp(br); err != nil {
			return nil, fmt.Errorf("set bridge %s up: %w", br.Name, err)
		}
	}
	return br, nil
}

// ownerMAC is the MAC address of a bridge that Attach creates: a locally
// administered unicast address derived from the owner and the bridge's name.
func ownerMAC(b Bridge) net.HardwareAddr {
	return KeyMAC(b.Owner + "/" + b.Name)
}

// ownedBy reports whether Attach created the bridge link for b.Owner: it
// has the owner's alias, or, if Attach was stopped before it could set
// that, the owner's MAC address.
func ownedBy(link netlink.Link, b Bridge) bool {
	attrs := link.Attrs()
	switch {
	case b.Owner == "":
		return false
	case attrs.Alias != "":
		return attrs.Alias == b.Owner
	}
	return bytes.Equal(attrs.HardwareAddr, ownerMAC(b))
}

// addGateways adds those of b.Gateways that the bridge lacks.
func addGateways(h *netlink.Handle, br *netlink.Bridge, b Bridge, undo *undoStack) error {
	for _, gw := range b.Gateways {
		addr := netlinkAddr(gw)
		err := h.AddrAdd(br, addr)
		if errors.Is(err, unix.EEXIST) {
			continue // added by an earlier Attach, still in use
		}
		if err != nil {
			return fmt.Errorf("add address %s to bridge %s: %w", gw, b.Name, err)
		}
		undo.push(func() error {
			if err := h.AddrDel(br, addr); err != nil {
				return fmt.Errorf("delete address %s from bridge %s: %w", gw, b.Name, err)
			}
			return nil
		})
	}
	return nil
}

// createVeth creates the pair, the host end up, the container end in its
// namespace, and makes the host end a port of the bridge.
func createVeth(h *netlink.Handle, br *netlink.Bridge, ctr *containerNS, a Attachment, undo *undoStack) error {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = a.HostIfName
	attrs.MTU = a.MTU // netlink gives the peer the same MTU
	attrs.Flags = net.FlagUp
	veth := &netlink.Veth{
		LinkAttrs:     attrs,
		PeerName:      a.IfName,
		PeerNamespace: ctr.peerNS,
		PeerTxQLen:    -1, // like attrs.TxQLen: the kernel default
	}
	if len(a.MAC) > 0 {
		veth.PeerHardwareAddr = a.MAC
	}
	// The master is set in a second call rather than through
	// attrs.MasterIndex: netlink would make that second call inside LinkAdd
	// anyway, and a failure there would leave a pair that the undo below,
	// pushed only once LinkAdd succeeds, knows nothing of.
	if err := h.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s with peer %s in %s: %w", a.HostIfName, a.IfName, ctr, err)
	}
	undo.push(func() error {
		// Deleting one end deletes both.
		if err := h.LinkDel(veth); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete veth %s: %w", a.HostIfName, err)
		}
		return nil
	})
	if err := h.LinkSetMasterByIndex(veth, br.Index); err != nil {
		return fmt.Errorf("attach %s to bridge %s: %w", a.HostIfName, br.Name, err)
	}
	// Hairpin mode lets the bridge send a frame back out of the port it
	// came in on: where br_netfilter is loaded, a container's packets to
	// its own published port are DNATed on the bridge and go back to it
	// that way.
	if err := h.LinkSetHairpin(veth, true); err != nil {
		return fmt.Errorf("set hairpin mode on %s: %w", a.HostIfName, err)
	}
	return nil
}

// configureContainer sets the container end and lo up and adds the
// addresses and routes. The addresses come before the routes, which the
// kernel accepts only once their gateway is reachable through one.
func configureContainer(ctr *containerNS, link netlink.Link, a Attachment) error {
	h := ctr.handle
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s in %s up: %w", a.IfName, ctr, err)
	}
	for _, p := range a.Addresses {
		if err := h.AddrAdd(link, netlinkAddr(p)); err != nil {
			return fmt.Errorf("add address %s to %s in %s: %w", p, a.IfName, ctr, err)
		}
	}
	if err := setLoopbackUp(h); err != nil {
		return fmt.Errorf("set lo in %s up: %w", ctr, err)
	}
	for _, r := range a.Routes {
		// Appended, so that a route of another network of the container
		// with the same destination and metric stays first.
		if err := h.RouteAppend(netlinkRoute(r, link.Attrs().Index)); err != nil {
			return fmt.Errorf("add route %s to %s in %s: %w", describeRoute(r), a.IfName, ctr, err)
		}
	}
	return nil
}

func setLoopbackUp(h *netlink.Handle) error {
	lo, err := h.LinkByName("lo")
	if err != nil {
		return err
	}
	return h.LinkSetUp(lo)
}

func describeRoute(r Route) string {
	if !r.Gateway.IsValid() {
		return r.Destination.String()
	}
	return fmt.Sprintf("%s via %s", r.Destination, r.Gateway)
}
