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
// What this package leaves alone: sysctls, the firewall, IPAM and DNS.
// In particular it does not turn on IP forwarding: whether a network may
// reach beyond the host (an internal network must not) is decided by the
// front end's firewall step, as in netavark. The container side needs no
// sysctl either, because its IPv6 addresses are added without duplicate
// address detection.
//
// Addresses are net/netip values; they are converted to net types only at
// the netlink boundary.
package dataplane

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
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
// limit.
func HostIfName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "veth" + hex.EncodeToString(sum[:])[:11]
}
