// Package dataplane is a placeholder until the netlink core lands.
package dataplane

import (
	"errors"
	"net"
	"net/netip"
)

type Bridge struct {
	Name     string
	MTU      int
	Gateways []netip.Prefix
}
type Route struct {
	Destination netip.Prefix
	Gateway     netip.Addr
	Metric      uint32
}
type Attachment struct {
	NetnsPath  string
	IfName     string
	HostIfName string
	MAC        net.HardwareAddr
	MTU        int
	Addresses  []netip.Prefix
	Routes     []Route
}
type Result struct {
	IfName    string
	MAC       net.HardwareAddr
	Addresses []netip.Prefix
}

func HostIfName(key string) string                  { return "veth0" }
func Attach(b Bridge, a Attachment) (Result, error) { return Result{}, errors.New("todo") }
func Detach(b Bridge, a Attachment) error           { return nil }
func Lock(dir, name string) (func() error, error)   { return func() error { return nil }, nil }
