// Package dataplane connects containers to a Linux bridge with veth pairs,
// over netlink only. It is the runtime-neutral core of a bridge network
// driver: the netavark plugin, a Docker remote driver and a CNI plugin each
// translate their own wire types into the plain Bridge and Attachment values
// here, so this package imports none of them.
//
// Attach makes sure the bridge and its gateway addresses exist, creates a
// veth pair whose container end is born inside the container's network
// namespace, and configures that end (MAC, addresses, routes). If any step
// fails it undoes what it did. Detach removes the pair and, once the bridge
// has no ports left, the bridge. Both read and change the bridge, which
// containers share, so callers hold Lock for the bridge around each call.
//
// Like netavark's bridge driver, Attach sets the sysctls that forwarding
// needs: the host's IPv4 (and, for a bridge with IPv6 gateways, IPv6)
// forwarding for a network that is not internal, route_localnet on a new
// bridge (so that the host reaches published ports on 127.0.0.1), loose
// reverse path filtering, and forwarding off on an internal bridge. The
// container side needs no sysctl, because its IPv6 addresses are added
// without duplicate address detection. What this package leaves alone: the
// firewall (package firewall), IPAM and DNS.
//
// Addresses are net/netip values; they are converted to net types only at
// the netlink boundary.
package dataplane

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
)

// Bridge is a host bridge that containers attach to.
type Bridge struct {
	// Name is the bridge's interface name, at most 15 bytes.
	Name string
	// MTU of a bridge that Attach creates; 0 leaves the kernel default. An
	// existing bridge keeps its MTU.
	MTU int
	// Gateways are the bridge's own addresses, each with its subnet's prefix
	// length (10.88.0.1/24, fd00::1/64), so that the kernel adds the route
	// to the subnet through the bridge.
	Gateways []netip.Prefix
	// Owner marks the bridges that Attach creates: it is their alias (ip
	// link shows it), and Detach deletes a bridge only if it carries it.
	// A bridge the plugin did not create, such as virbr0 given by name,
	// keeps its addresses and stays when its last container leaves.
	Owner string
	// Internal bridges forward nothing: Attach turns forwarding off on
	// them, and never turns on the host's.
	Internal bool
}

// Route is a route to add in the container's network namespace. A default
// route is a Route to 0.0.0.0/0 or ::/0.
type Route struct {
	Destination netip.Prefix
	// Gateway is the next hop; the zero Addr makes the destination on-link.
	Gateway netip.Addr
	// Metric is the route's priority; 0 leaves the kernel default.
	Metric uint32
}

// Attachment is one container interface on a bridge.
type Attachment struct {
	// NetnsPath is the container's network namespace (/run/netns/x,
	// /proc/PID/ns/net). Empty leaves the container end in the host
	// namespace, unconfigured, for a runtime that moves it itself (Docker).
	NetnsPath string
	// IfName is the container end's name (eth0).
	IfName string
	// HostIfName is the host end's name; HostIfName derives one.
	HostIfName string
	// MAC is an optional static address for the container end.
	MAC net.HardwareAddr
	// MTU of both ends; 0 takes the Bridge's MTU, or the kernel default.
	MTU int
	// Addresses of the container end, with their prefix length
	// (10.88.0.5/24). Applied only when NetnsPath is set.
	Addresses []netip.Prefix
	// Routes to add in the container's namespace once its addresses are
	// up. Applied only when NetnsPath is set.
	Routes []Route
}

// Result describes the container end after Attach.
type Result struct {
	IfName string
	// MAC is the address read back from the kernel, so it is set whether
	// or not the Attachment asked for one.
	MAC net.HardwareAddr
	// Addresses are the Attachment's addresses; when NetnsPath is empty
	// they are for the caller to apply.
	Addresses []netip.Prefix
}

// HostIfName derives the host end's name from a key unique to the
// attachment, such as container ID plus network ID. It is deterministic so
// that Detach can find the veth from the same inputs as Attach without any
// saved state, and it is "veth" plus 11 hex digits: 15 bytes, the kernel's
// limit. No other tool names its veths so (Docker and CNI use 7 and 8 hex
// digits), which is how Detach tells the plugin's ports of a bridge from
// others.
func HostIfName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hostIfPrefix + hex.EncodeToString(sum[:])[:hostIfHexDigits]
}

// KeyMAC derives a locally administered unicast MAC address from key, the
// same however often it is derived: a bridge's from its owner and name, an
// endpoint's from its ID, so that a front end knows it before the link
// exists, and finds it again without any saved state.
func KeyMAC(key string) net.HardwareAddr {
	sum := sha256.Sum256([]byte(key))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&^0x01 | 0x02
	return mac
}

const (
	hostIfPrefix    = "veth"
	hostIfHexDigits = 11
)

// IsHostIfName reports whether name is one that HostIfName makes.
func IsHostIfName(name string) bool {
	digits, ok := strings.CutPrefix(name, hostIfPrefix)
	return ok && len(digits) == hostIfHexDigits && strings.Trim(digits, "0123456789abcdef") == ""
}
