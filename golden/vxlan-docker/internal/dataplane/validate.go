package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"

	"golang.org/x/sys/unix"
)

// Validation stops at what netlink itself would reject or misread, so that a
// bad input fails with a clear message before anything on the host changes.
// Whether an address belongs to a gateway's subnet, or an IPv4 address is
// given to an IPv6-only network, is the caller's business.

// maxIfNameLen is IFNAMSIZ less the terminating NUL.
const maxIfNameLen = 15

func (b Bridge) validate() error {
	if err := ValidateIfName("bridge name", b.Name); err != nil {
		return err
	}
	if b.MTU < 0 {
		return fmt.Errorf("bridge %s: negative MTU %d", b.Name, b.MTU)
	}
	for _, g := range b.Gateways {
		if err := validatePrefix(g); err != nil {
			return fmt.Errorf("bridge %s: gateway: %w", b.Name, err)
		}
	}
	return nil
}

func (a Attachment) validate() error {
	if err := ValidateIfName("interface name", a.IfName); err != nil {
		return err
	}
	if err := ValidateIfName("host interface name", a.HostIfName); err != nil {
		return err
	}
	if a.MTU < 0 {
		return fmt.Errorf("%s: negative MTU %d", a.IfName, a.MTU)
	}
	if err := validateMAC(a.MAC); err != nil {
		return fmt.Errorf("%s: %w", a.IfName, err)
	}
	for _, p := range a.Addresses {
		if err := validatePrefix(p); err != nil {
			return fmt.Errorf("%s: address: %w", a.IfName, err)
		}
	}
	for _, r := range a.Routes {
		if err := validateRoute(r); err != nil {
			return fmt.Errorf("%s: route: %w", a.IfName, err)
		}
	}
	if a.NetnsPath != "" {
		return validateNetns(a.NetnsPath)
	}
	return nil
}

// validateNetns checks that path is a network namespace: a file of the nsfs
// file system, as /run/netns/NAME and /proc/PID/ns/net are.
func validateNetns(path string) error {
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return fmt.Errorf("netns %s: %w", path, err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		return fmt.Errorf("netns %s is not a network namespace", path)
	}
	return nil
}

// ValidateIfName checks that name can be a Linux interface name, by the
// kernel's dev_valid_name rules; what names the interface in the error.
func ValidateIfName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty %s", what)
	case len(name) > maxIfNameLen:
		return fmt.Errorf("%s %q is longer than %d bytes", what, name, maxIfNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("%s %q is not allowed", what, name)
	case strings.ContainsFunc(name, func(r rune) bool {
		return r == '/' || r == ':' || r == 0 || unicode.IsSpace(r)
	}):
		return fmt.Errorf("%s %q contains '/', ':', NUL or white space", what, name)
	}
	return nil
}

func validateMAC(mac []byte) error {
	switch {
	case len(mac) == 0:
		return nil
	case len(mac) != 6:
		return fmt.Errorf("MAC %x is not 6 bytes long", mac)
	case mac[0]&1 != 0:
		return fmt.Errorf("MAC %x is a multicast address", mac)
	case [6]byte(mac) == [6]byte{}:
		return errors.New("MAC is all zeros")
	}
	return nil
}

// validateAddr rejects what would reach netlink in the wrong family: the
// zero Addr, and IPv4-mapped IPv6 addresses, which netlink would send as
// IPv4 with an IPv6-sized prefix.
func validateAddr(a netip.Addr) error {
	switch {
	case !a.IsValid():
		return errors.New("missing address")
	case a.Is4In6():
		return fmt.Errorf("%s is IPv4-mapped IPv6: give it as plain IPv4", a)
	}
	return nil
}

func validatePrefix(p netip.Prefix) error {
	if !p.IsValid() {
		return errors.New("missing or invalid prefix")
	}
	return validateAddr(p.Addr())
}

func validateRoute(r Route) error {
	if err := validatePrefix(r.Destination); err != nil {
		return err
	}
	// The kernel refuses an IPv4 destination with host bits set; refuse
	// IPv6 ones too rather than guess which network was meant.
	if r.Destination != r.Destination.Masked() {
		return fmt.Errorf("destination %s has host bits set (network is %s)", r.Destination, r.Destination.Masked())
	}
	if !r.Gateway.IsValid() {
		return nil
	}
	if err := validateAddr(r.Gateway); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if r.Gateway.Is4() != r.Destination.Addr().Is4() {
		return fmt.Errorf("gateway %s and destination %s are of different IP versions", r.Gateway, r.Destination)
	}
	return nil
}

// CheckBridge refuses a bridge name that an existing link of another kind
// has: a network created with it could never set up a container. It looks
// the name up in the calling thread's network namespace.
func CheckBridge(name string) error {
	if err := ValidateIfName("bridge name", name); err != nil {
		return err
	}
	h, err := newHandle()
	if err != nil {
		return fmt.Errorf("open netlink socket: %w", err)
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	switch {
	case isNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("look up %s: %w", name, err)
	case link.Type() != "bridge":
		return fmt.Errorf("%s exists and is not a bridge (its type is %s)", name, link.Type())
	}
	return nil
}
