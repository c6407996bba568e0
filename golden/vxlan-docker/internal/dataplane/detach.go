package dataplane

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// Detached tells what Detach left of the bridge.
type Detached struct {
	// Empty is set when the bridge has no container left: no port that
	// Attach made, or no bridge at all. A network's other state (its
	// firewall rules) goes then.
	Empty bool
	// BridgeGone is set when Detach deleted the bridge, or found none.
	BridgeGone bool
}

// Detach removes the attachment's veth pair, then the bridge if that left it
// without ports and Attach created it (its alias is b.Owner). It is
// idempotent: a missing veth, a missing bridge or a container netns that no
// longer exists are not errors, so Detach can follow a failed Attach, a
// successful one, another Detach, or nothing at all.
//
// Detach finds the pair by its host end, a.HostIfName, and deletes it there,
// which deletes the container end too. It never deletes an interface by its
// name in the container's namespace: after a failed Attach, a.IfName there
// may be another network's interface. So only b.Name and a.HostIfName are
// used, and the container's namespace is not opened at all.
//
// Callers hold Lock(dir, b.Name), or an Attach could add a port between the
// check and the delete.
func Detach(b Bridge, a Attachment) (Detached, error) {
	if err := ValidateIfName("bridge name", b.Name); err != nil {
		return Detached{}, err
	}
	if err := ValidateIfName("host interface name", a.HostIfName); err != nil {
		return Detached{}, err
	}
	host, err := newHandle()
	if err != nil {
		return Detached{}, fmt.Errorf("open netlink socket: %w", err)
	}
	defer host.Close()

	if err := deleteLink(host, a.HostIfName); err != nil {
		return Detached{}, fmt.Errorf("delete veth %s: %w", a.HostIfName, err)
	}
	return deleteBridgeIfUnused(host, b)
}

// deleteBridgeIfUnused deletes the bridge b.Name if it has no ports but
// b.Uplink, deleted with it, and is b.Owner's. A link of that name that is
// not a bridge is left alone: it is not ours.
func deleteBridgeIfUnused(h *netlink.Handle, b Bridge) (Detached, error) {
	link, err := h.LinkByName(b.Name)
	if isNotFound(err) {
		return Detached{Empty: true, BridgeGone: true}, nil
	}
	if err != nil {
		return Detached{}, fmt.Errorf("look up bridge %s: %w", b.Name, err)
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return Detached{Empty: true}, nil
	}
	ours, others, err := bridgePorts(link.Attrs().Index)
	if err != nil {
		return Detached{}, fmt.Errorf("list the ports of bridge %s: %w", b.Name, err)
	}
	d := Detached{Empty: ours == 0}
	// The uplink goes with the bridge: as its port, or without a master,
	// as a setup killed between creating it and adding it to the bridge
	// left it. A port of another bridge is not this one's.
	uplink, err := h.LinkByName(b.Uplink)
	switch {
	case b.Uplink == "" || isNotFound(err):
		uplink = nil
	case err != nil:
		return Detached{}, fmt.Errorf("look up %s: %w", b.Uplink, err)
	case uplink.Attrs().MasterIndex == link.Attrs().Index:
		others--
	case uplink.Attrs().MasterIndex != 0:
		uplink = nil
	}
	if ours+others > 0 || !ownedBy(link, b) {
		return d, nil
	}
	if uplink != nil {
		if err := h.LinkDel(uplink); err != nil && !isNotFound(err) {
			return Detached{}, fmt.Errorf("delete %s: %w", b.Uplink, err)
		}
	}
	if err := h.LinkDel(link); err != nil && !isNotFound(err) {
		return Detached{}, fmt.Errorf("delete bridge %s: %w", b.Name, err)
	}
	d.BridgeGone = true
	return d, nil
}
