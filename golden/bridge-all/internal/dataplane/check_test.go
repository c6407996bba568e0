package dataplane

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"example.com/demo/internal/nstest"
)

func TestCheck(t *testing.T) {
	nstest.RequireRoot(t)
	b := testBridge(t, "198.18.3.1/24")
	a := testAttachment(t, nstest.NewNetns(t), []string{"198.18.3.2/24", "2001:db8:3::2/64"})
	a.MAC = net.HardwareAddr{0x02, 0x42, 0xc6, 0x12, 0x03, 0x02}
	if _, err := Attach(b, a); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if err := Check(b, a); err != nil {
		t.Fatalf("Check after Attach: %v", err)
	}
	bridgeMAC, hostMAC, err := HostMACs(b, a)
	if err != nil || len(bridgeMAC) != 6 || len(hostMAC) != 6 {
		t.Errorf("HostMACs = %s, %s, %v; want two MACs", bridgeMAC, hostMAC, err)
	}

	tests := []struct {
		name   string
		change func(*Bridge, *Attachment)
		want   string
	}{
		{"other MAC", func(_ *Bridge, a *Attachment) { a.MAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 1} }, "has MAC"},
		{"missing address", func(_ *Bridge, a *Attachment) {
			a.Addresses = []netip.Prefix{a.Addresses[0], netip.MustParsePrefix("198.18.3.3/24")}
		}, "lacks address 198.18.3.3/24"},
		{"other prefix length", func(_ *Bridge, a *Attachment) { a.Addresses = []netip.Prefix{netip.MustParsePrefix("198.18.3.2/25")} }, "lacks address"},
		{"other interface", func(_ *Bridge, a *Attachment) { a.IfName = "lo" }, "not the peer"},
		{"other host end", func(_ *Bridge, a *Attachment) { a.HostIfName = HostIfName("no such attachment") }, "look up veth"},
		{"other bridge", func(b *Bridge, _ *Attachment) { b.Name = nstest.UniqueName("dpt") }, "look up bridge"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, a := b, a
			tc.change(&b, &a)
			if err := Check(b, a); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v, want an error containing %q", err, tc.want)
			}
		})
	}

	if _, err := Detach(b, a); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	if err := Check(b, a); err == nil {
		t.Error("Check after Detach succeeded")
	}
}
