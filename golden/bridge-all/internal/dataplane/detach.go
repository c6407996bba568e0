package dataplane

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// Detach removes the attachment's veth pair, then the bridge if that left it
// without ports. It is idempotent: a missing veth, a missing bridge or a
// container netns that no longer exists are not errors, so Detach can follow
// a failed Attach, a successful one, another Detach, or nothing at all.
//
// Detach finds the pair by its host end, a.HostIfName, and deletes it there,
// which deletes the container end too. It never deletes an interface by its
// name in the container's namespace: after a failed Attach, a.IfName there
// may be another network's interface. So only b.Name and a.HostIfName are
// used, and the container's namespace is not opened at all.
//
// A bridge without ports is deleted whoever created it; that is what lets
// Detach clean up after an Attach that died halfway. Callers hold
// Lock(dir, b.Name), or an Attach could add a port between the check and
// the delete.
func Detach(b Bridge, a Attachment) error {
	if err := validateIfName("bridge name", b.Name); err != nil {
		return err
	}
	if err := validateIfName("host interface name", a.HostIfName); err != nil {
		return err
	}
	host, err := newHandle()
	if err != nil {
		return fmt.Errorf("open netlink socket: %w", err)
	}
	defer host.Close()

	if err := deleteLink(host, a.HostIfName); err != nil {
		return fmt.Errorf("delete veth %s: %w", a.HostIfName, err)
	}
	return deleteBridgeIfUnused(host, b.Name)
}

// deleteBridgeIfUnused deletes the bridge called name if it has no ports.
// A link of that name that is not a bridge is left alone: it is not ours.
func deleteBridgeIfUnused(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up bridge %s: %w", name, err)
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return nil
	}
	used, err := bridgeHasPorts(link.Attrs().Index)
	if err != nil {
		return fmt.Errorf("list the ports of bridge %s: %w", name, err)
	}
	if used {
		return nil
	}
	if err := h.LinkDel(link); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete bridge %s: %w", name, err)
	}
	return nil
}
