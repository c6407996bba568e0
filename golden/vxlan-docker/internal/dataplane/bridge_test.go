package dataplane

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"example.com/demo/internal/nstest"

	"github.com/vishvananda/netlink"
)

// readSysctl reads a setting under /proc/sys/net of the test's namespace.
func readSysctl(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc/sys/net", path))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func writeSysctl(t testing.TB, path, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join("/proc/sys/net", path), []byte(value), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The sysctls are netavark's: forwarding on for a network that is not
// internal, and off on an internal bridge, whatever the host does.
func TestAttachSysctls(t *testing.T) {
	nstest.RequireRoot(t)
	for _, internal := range []bool{false, true} {
		writeSysctl(t, "ipv4/ip_forward", "0")
		writeSysctl(t, "ipv6/conf/all/forwarding", "0")
		b := testBridge(t, "198.18.0.1/24", "2001:db8::1/64")
		b.Internal = internal
		a := testAttachment(t, nstest.NewNetns(t), []string{"198.18.0.2/24"})
		if _, err := Attach(b, a); err != nil {
			t.Fatalf("Attach: %v", err)
		}
		want := map[string]string{
			"ipv4/ip_forward":                         "1",
			"ipv6/conf/all/forwarding":                "1",
			"ipv4/conf/" + b.Name + "/rp_filter":      "2",
			"ipv4/conf/" + b.Name + "/route_localnet": "1",
			"ipv6/conf/" + b.Name + "/accept_dad":     "0",
			"ipv6/conf/" + b.Name + "/accept_ra":      "0",
		}
		if internal {
			want["ipv4/ip_forward"] = "0"
			want["ipv6/conf/all/forwarding"] = "0"
			want["ipv4/conf/"+b.Name+"/forwarding"] = "0"
			want["ipv6/conf/"+b.Name+"/forwarding"] = "0"
			delete(want, "ipv4/conf/"+b.Name+"/route_localnet")
		}
		for path, value := range want {
			if got := readSysctl(t, path); got != value {
				t.Errorf("internal=%v: %s = %s, want %s", internal, path, got, value)
			}
		}
		if _, err := Detach(b, a); err != nil {
			t.Fatal(err)
		}
	}
}

// A container's port has hairpin mode on, so that where br_netfilter is
// loaded it can reach its own published ports.
func TestAttachHairpin(t *testing.T) {
	b := testBridge(t, "198.18.0.1/24")
	a := testAttachment(t, nstest.NewNetns(t), []string{"198.18.0.2/24"})
	if _, err := Attach(b, a); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	h := hostHandle(t)
	p, err := h.LinkGetProtinfo(mustLookup(t, h, a.HostIfName))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Hairpin {
		t.Errorf("%s: hairpin mode is off", a.HostIfName)
	}
	if _, err := Detach(b, a); err != nil {
		t.Fatal(err)
	}
}

// A bridge the plugin did not create (a user's, given by name) stays when
// its last container leaves, with its addresses, and Detach reports the
// network empty all the same; one the plugin created carries its alias.
func TestBridgeOwnership(t *testing.T) {
	h := hostHandle(t)
	theirs := testBridge(t, "198.18.0.1/24")
	attrs := netlink.NewLinkAttrs()
	attrs.Name = theirs.Name
	if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
		t.Fatal(err)
	}
	a := testAttachment(t, nstest.NewNetns(t), []string{"198.18.0.2/24"})
	if _, err := Attach(theirs, a); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	d, err := Detach(theirs, a)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Empty || d.BridgeGone {
		t.Errorf("Detach from the user's bridge = %+v, want Empty and not BridgeGone", d)
	}
	br := mustLookup(t, h, theirs.Name)
	if got := prefixes(t, h, br); !slices.Contains(got, theirs.Gateways[0]) {
		t.Errorf("the user's bridge has addresses %v, want the gateway kept", got)
	}

	ours := testBridge(t, "198.18.1.1/24")
	a1 := testAttachment(t, nstest.NewNetns(t), []string{"198.18.1.2/24"})
	a2 := testAttachment(t, nstest.NewNetns(t), []string{"198.18.1.3/24"})
	for _, a := range []Attachment{a1, a2} {
		if _, err := Attach(ours, a); err != nil {
			t.Fatalf("Attach: %v", err)
		}
	}
	if alias := mustLookup(t, h, ours.Name).Attrs().Alias; alias != ours.Owner {
		t.Errorf("created bridge has alias %q, want %q", alias, ours.Owner)
	}
	if d, err := Detach(ours, a1); err != nil || d.Empty || d.BridgeGone {
		t.Errorf("Detach of one of two containers = %+v, %v; want neither Empty nor BridgeGone", d, err)
	}
	if d, err := Detach(ours, a2); err != nil || !d.Empty || !d.BridgeGone {
		t.Errorf("Detach of the last container = %+v, %v; want Empty and BridgeGone", d, err)
	}
	if d, err := Detach(ours, a2); err != nil || !d.Empty || !d.BridgeGone {
		t.Errorf("Detach again = %+v, %v; want Empty and BridgeGone", d, err)
	}
}
