package dataplane

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// SysctlDir is where the network sysctls are: /proc/sys/net, unless a
// program that finds them elsewhere sets it before its first Attach (a
// managed Docker plugin, whose /proc/sys the engine mounts read-only).
// Whichever mount of procfs it is, a sysctl under it is the network
// namespace's of the thread that opens it.
var SysctlDir = "/proc/sys/net"

// sysctl is one setting under SysctlDir.
type sysctl struct {
	path, value string
}

// bridgeSysctls are the settings of a bridge that Attach creates, as
// netavark's: loose reverse path filtering, which multi-network containers
// need; route_localnet, so that DNAT of 127.0.0.1 to a container works; on
// an internal bridge, no forwarding; and on an IPv6 one, no duplicate
// address detection or router advertisements.
func bridgeSysctls(b Bridge) []sysctl {
	conf := func(family, key, value string) sysctl {
		return sysctl{filepath.Join("ipv"+family, "conf", b.Name, key), value}
	}
	s := []sysctl{conf("4", "rp_filter", "2")}
	if b.Internal {
		s = append(s, conf("4", "forwarding", "0"))
	} else {
		s = append(s, conf("4", "route_localnet", "1"))
	}
	if b.hasIPv6() {
		s = append(s, conf("6", "accept_dad", "0"), conf("6", "accept_ra", "0"))
		if b.Internal {
			s = append(s, conf("6", "forwarding", "0"))
		}
	}
	return s
}

// hostSysctls are the host's forwarding settings that a network that is
// not internal needs.
func hostSysctls(b Bridge) []sysctl {
	if b.Internal {
		return nil
	}
	s := []sysctl{{"ipv4/ip_forward", "1"}}
	if b.hasIPv6() {
		s = append(s, sysctl{"ipv6/conf/all/forwarding", "1"})
	}
	return s
}

func (b Bridge) hasIPv6() bool {
	for _, g := range b.Gateways {
		if g.Addr().Is6() {
			return true
		}
	}
	return false
}

// set writes each setting that does not have its value yet.
func setSysctls(settings []sysctl) error {
	for _, s := range settings {
		path := filepath.Join(SysctlDir, s.path)
		cur, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read sysctl %s: %w", s.path, err)
		}
		if string(bytes.TrimSpace(cur)) == s.value {
			continue
		}
		if err := os.WriteFile(path, []byte(s.value), 0o644); err != nil {
			return fmt.Errorf("set sysctl %s to %s: %w", s.path, s.value, err)
		}
	}
	return nil
}
