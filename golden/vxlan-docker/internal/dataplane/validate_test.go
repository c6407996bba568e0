package dataplane

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Validation runs before any netlink call, so these tests need no root. The
// valid base points at a netns path that does not exist: should validation
// let a bad input through, Attach still fails before touching the host.
func TestAttachRejectsInvalidInput(t *testing.T) {
	notNetns := filepath.Join(t.TempDir(), "netns")
	if err := os.WriteFile(notNetns, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	valid := func() (Bridge, Attachment) {
		return Bridge{Name: "dptvalid", Gateways: []netip.Prefix{netip.MustParsePrefix("198.18.0.1/24")}},
			Attachment{
				NetnsPath:  "/nonexistent/netns",
				IfName:     "eth0",
				HostIfName: HostIfName("valid"),
				Addresses:  []netip.Prefix{netip.MustParsePrefix("198.18.0.2/24")},
				Routes:     []Route{via("0.0.0.0/0", "198.18.0.1")},
			}
	}
	tests := []struct {
		name    string
		change  func(*Bridge, *Attachment)
		wantErr string
	}{
		{"empty interface name", func(_ *Bridge, a *Attachment) { a.IfName = "" }, "empty interface name"},
		{"missing netns", func(*Bridge, *Attachment) {}, "netns /nonexistent/netns: no such file"},
		{"netns that is not a netns", func(_ *Bridge, a *Attachment) { a.NetnsPath = notNetns }, "is not a network namespace"},
		{"long interface name", func(_ *Bridge, a *Attachment) { a.IfName = "eth0123456789abc" }, "longer than 15 bytes"},
		{"slash", func(_ *Bridge, a *Attachment) { a.IfName = "eth/0" }, "contains '/'"},
		{"white space", func(_ *Bridge, a *Attachment) { a.HostIfName = "veth 0" }, "host interface name"},
		{"dot dot", func(b *Bridge, _ *Attachment) { b.Name = ".." }, "not allowed"},
		{"negative MTU", func(b *Bridge, _ *Attachment) { b.MTU = -1 }, "negative MTU"},
		{"short MAC", func(_ *Bridge, a *Attachment) { a.MAC = net.HardwareAddr{2, 0, 0, 0, 1} }, "not 6 bytes"},
		{"multicast MAC", func(_ *Bridge, a *Attachment) { a.MAC = net.HardwareAddr{1, 0, 0x5e, 0, 0, 1} }, "multicast"},
		{"zero address", func(_ *Bridge, a *Attachment) { a.Addresses = append(a.Addresses, netip.Prefix{}) }, "missing"},
		{"IPv4-mapped gateway", func(b *Bridge, _ *Attachment) {
			b.Gateways = []netip.Prefix{netip.MustParsePrefix("::ffff:198.18.0.1/120")}
		}, "IPv4-mapped"},
		{"host bits in destination", func(_ *Bridge, a *Attachment) {
			a.Routes = []Route{via("198.19.0.5/16", "198.18.0.1")}
		}, "host bits"},
		{"mixed versions", func(_ *Bridge, a *Attachment) { a.Routes = []Route{via("0.0.0.0/0", "2001:db8::1")} }, "different IP versions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, a := valid()
			tc.change(&b, &a)
			_, err := Attach(b, a)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Attach error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestDetachRejectsInvalidNames(t *testing.T) {
	if _, err := Detach(Bridge{Name: "dptvalid"}, Attachment{}); err == nil || !strings.Contains(err.Error(), "empty host interface name") {
		t.Errorf("Detach error = %v, want empty host interface name", err)
	}
	if _, err := Detach(Bridge{Name: "bridge-name-too-long"}, Attachment{HostIfName: "veth0"}); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("Detach error = %v, want a too long bridge name", err)
	}
}

func TestHostIfName(t *testing.T) {
	a, b := HostIfName("container-a/network"), HostIfName("container-b/network")
	if a != HostIfName("container-a/network") {
		t.Errorf("HostIfName is not deterministic")
	}
	if a == b {
		t.Errorf("HostIfName gives %s for two keys", a)
	}
	if !strings.HasPrefix(a, "veth") || len(a) != maxIfNameLen {
		t.Errorf("HostIfName = %q, want veth and 11 hex digits", a)
	}
	if err := ValidateIfName("host interface name", a); err != nil {
		t.Error(err)
	}
	for name, want := range map[string]bool{
		a: true, "veth0": false, "vethabcdef0": false, "veth0123456789a": true, "veth0123456789A": false, "eth0123456789ab": false,
	} {
		if got := IsHostIfName(name); got != want {
			t.Errorf("IsHostIfName(%q) = %v, want %v", name, got, want)
		}
	}
}
