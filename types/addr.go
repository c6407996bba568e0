package types

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// IPNet is an IP address together with the prefix length of its network, as
// netavark writes it: "10.88.0.5/16". Unlike a CIDR network, the address keeps
// its host bits. The zero IPNet is not valid and does not encode.
type IPNet struct {
	netip.Prefix
}

// errInvalidIPNet is the error of encoding a zero or invalid IPNet.
var errInvalidIPNet = errors.New("encode ipnet: zero or invalid value")

// ParseIPNet parses an address with a prefix length such as "10.88.0.5/16" or
// "fd00::5/64". The host bits are kept.
func ParseIPNet(s string) (IPNet, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return IPNet{}, fmt.Errorf("parse ipnet %q: %w", s, err)
	}
	return IPNet{p}, nil
}

// IPNetFrom returns the IPNet of addr with a prefix length of bits.
func IPNetFrom(addr netip.Addr, bits int) IPNet {
	return IPNet{netip.PrefixFrom(addr, bits)}
}

// MarshalText encodes n as "address/bits". It has a value receiver so that an
// IPNet held by value encodes as a string, never as an object.
func (n IPNet) MarshalText() ([]byte, error) {
	if !n.IsValid() {
		return nil, errInvalidIPNet
	}
	return []byte(n.Prefix.String()), nil
}

// UnmarshalText decodes "address/bits"; an address without a prefix length
// is an error.
func (n *IPNet) UnmarshalText(text []byte) error {
	p, err := ParseIPNet(string(text))
	if err != nil {
		return err
	}
	*n = p
	return nil
}

// HardwareAddr is an Ethernet MAC address. Its text form is six
// colon-separated pairs of lowercase hex digits, "aa:bb:cc:dd:ee:ff"; the
// empty address encodes as "".
type HardwareAddr net.HardwareAddr

// ParseHardwareAddr parses a 48-bit MAC address such as "aa:bb:cc:dd:ee:ff".
func ParseHardwareAddr(s string) (HardwareAddr, error) {
	mac, err := net.ParseMAC(s)
	if err != nil {
		return nil, fmt.Errorf("parse mac address %q: %w", s, err)
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("parse mac address %q: not a 48-bit Ethernet address", s)
	}
	return HardwareAddr(mac), nil
}

// String returns the colon-separated form, or "" for the empty address.
func (h HardwareAddr) String() string {
	return net.HardwareAddr(h).String()
}

// MarshalText encodes h in its colon-separated form. It has a value receiver
// so that a HardwareAddr held by value encodes as a string, never as base64.
func (h HardwareAddr) MarshalText() ([]byte, error) {
	if len(h) != 0 && len(h) != 6 {
		return nil, fmt.Errorf("encode mac address: %d bytes, want 6", len(h))
	}
	return []byte(h.String()), nil
}

// UnmarshalText decodes a colon-separated MAC address; "" decodes as the
// empty address.
func (h *HardwareAddr) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*h = nil
		return nil
	}
	mac, err := ParseHardwareAddr(string(text))
	if err != nil {
		return err
	}
	*h = mac
	return nil
}
