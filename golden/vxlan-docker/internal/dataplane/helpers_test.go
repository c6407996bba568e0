package dataplane

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"example.com/demo/internal/nstest"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// testBridge returns a Bridge with a name unique to the test, and makes sure
// at cleanup that no bridge of that name outlives the test, however it ended.
func testBridge(t testing.TB, gateways ...string) Bridge {
	t.Helper()
	b := Bridge{Name: nstest.UniqueName("dpt"), Owner: "dataplane-test"}
	for _, g := range gateways {
		b.Gateways = append(b.Gateways, netip.MustParsePrefix(g))
	}
	t.Cleanup(func() { removeLink(t, b.Name) })
	return b
}

// testAttachment returns an Attachment named eth0 in nsPath, with a host end
// of its own, and removes any veth it leaves at cleanup.
func testAttachment(t testing.TB, nsPath string, addrs []string, routes ...Route) Attachment {
	t.Helper()
	a := Attachment{
		NetnsPath:  nsPath,
		IfName:     "eth0",
		HostIfName: HostIfName(nstest.UniqueName("attachment")),
		Routes:     routes,
	}
	for _, p := range addrs {
		a.Addresses = append(a.Addresses, netip.MustParsePrefix(p))
	}
	t.Cleanup(func() { removeLink(t, a.HostIfName) })
	return a
}

// removeLink deletes the host link called name, if any. Cleanups call it,
// so it opens and closes its own handle rather than register another
// cleanup.
func removeLink(t testing.TB, name string) {
	t.Helper()
	h, err := newHandle()
	if err != nil {
		t.Errorf("clean up %s: open netlink socket: %v", name, err)
		return
	}
	defer h.Close()
	if err := deleteLink(h, name); err != nil {
		t.Errorf("clean up %s: %v", name, err)
	}
}

// via returns a route to dst through gw, or on-link when gw is "".
func via(dst, gw string) Route {
	r := Route{Destination: netip.MustParsePrefix(dst)}
	if gw != "" {
		r.Gateway = netip.MustParseAddr(gw)
	}
	return r
}

func hostHandle(t testing.TB) *netlink.Handle {
	t.Helper()
	h, err := newHandle()
	if err != nil {
		t.Fatalf("open netlink socket: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

// lookup returns the link called name, or nil if there is none.
func lookup(t testing.TB, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	link, err := h.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("look up %s: %v", name, err)
	}
	return link
}

// mustLookup returns the link called name, failing the test if it is missing.
func mustLookup(t testing.TB, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	link := lookup(t, h, name)
	if link == nil {
		t.Fatalf("%s not found", name)
	}
	return link
}

func prefixes(t testing.TB, h *netlink.Handle, link netlink.Link) []netip.Prefix {
	t.Helper()
	addrs, err := retryDump(func() ([]netlink.Addr, error) {
		return h.AddrList(link, netlink.FAMILY_ALL)
	})
	if err != nil {
		t.Fatalf("list addresses of %s: %v", link.Attrs().Name, err)
	}
	var ps []netip.Prefix
	for _, a := range addrs {
		ps = append(ps, toPrefix(a.IPNet))
	}
	return ps
}

func toPrefix(n *net.IPNet) netip.Prefix {
	addr, _ := netip.AddrFromSlice(n.IP)
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(addr.Unmap(), bits)
}

// ports returns the names of the bridge's ports.
func ports(t testing.TB, h *netlink.Handle, br netlink.Link) []string {
	t.Helper()
	links, err := retryDump(h.LinkList)
	if err != nil {
		t.Fatalf("list links: %v", err)
	}
	var names []string
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			names = append(names, l.Attrs().Name)
		}
	}
	return names
}

// checkContainer checks that a's interface exists in its namespace as asked.
func checkContainer(t testing.TB, a Attachment) {
	t.Helper()
	h := nstest.Handle(t, a.NetnsPath)
	link := mustLookup(t, h, a.IfName)
	if link.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("%s is down", a.IfName)
	}
	if a.MAC != nil && link.Attrs().HardwareAddr.String() != a.MAC.String() {
		t.Errorf("%s MAC = %s, want %s", a.IfName, link.Attrs().HardwareAddr, a.MAC)
	}
	got := prefixes(t, h, link)
	for _, want := range a.Addresses {
		if !slices.Contains(got, want) {
			t.Errorf("%s addresses = %v, want %s among them", a.IfName, got, want)
		}
	}
	for _, want := range a.Routes {
		if !hasRoute(t, h, link, want) {
			t.Errorf("route %s missing from %s", describeRoute(want), a.NetnsPath)
		}
	}
	if lo := mustLookup(t, h, "lo"); lo.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("lo is down in %s", a.NetnsPath)
	}
}

func hasRoute(t testing.TB, h *netlink.Handle, link netlink.Link, want Route) bool {
	t.Helper()
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return h.RouteList(link, netlink.FAMILY_ALL)
	})
	if err != nil {
		t.Fatalf("list routes: %v", err)
	}
	for _, r := range routes {
		gw, _ := netip.AddrFromSlice(r.Gw)
		if r.Dst != nil && toPrefix(r.Dst) == want.Destination && gw.Unmap() == want.Gateway &&
			(want.Metric == 0 || r.Priority == int(want.Metric)) {
			return true
		}
	}
	return false
}

// checkHost checks that the bridge carries its gateways, has a pinned MAC,
// and has a's host end as an up port.
func checkHost(t testing.TB, b Bridge, a Attachment) {
	t.Helper()
	h := hostHandle(t)
	br := mustLookup(t, h, b.Name)
	if _, ok := br.(*netlink.Bridge); !ok {
		t.Fatalf("%s is a %s, not a bridge", b.Name, br.Type())
	}
	got := prefixes(t, h, br)
	for _, want := range b.Gateways {
		if !slices.Contains(got, want) {
			t.Errorf("bridge addresses = %v, want %s among them", got, want)
		}
	}
	veth := mustLookup(t, h, a.HostIfName)
	if veth.Attrs().MasterIndex != br.Attrs().Index {
		t.Errorf("%s is not a port of %s", a.HostIfName, b.Name)
	}
	if veth.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("%s is down", a.HostIfName)
	}
	// An unpinned bridge would have taken the MAC of its only port.
	if br.Attrs().HardwareAddr.String() == veth.Attrs().HardwareAddr.String() {
		t.Errorf("bridge took its port's MAC %s", veth.Attrs().HardwareAddr)
	}
}

// checkDetached checks that nothing of a, nor the bridge, is left.
func checkDetached(t testing.TB, b Bridge, a Attachment) {
	t.Helper()
	h := hostHandle(t)
	for _, name := range []string{a.HostIfName, b.Name} {
		if lookup(t, h, name) != nil {
			t.Errorf("%s left on the host", name)
		}
	}
	if a.NetnsPath == "" {
		if lookup(t, h, a.IfName) != nil {
			t.Errorf("%s left on the host", a.IfName)
		}
		return
	}
	if _, err := os.Stat(a.NetnsPath); err == nil && lookup(t, nstest.Handle(t, a.NetnsPath), a.IfName) != nil {
		t.Errorf("%s left in %s", a.IfName, a.NetnsPath)
	}
}

// ping sends ICMP echo requests to dst through device dev alone and waits
// for a reply. Binding to the device keeps the probes on the test bridge
// even if its routes are wrong, so they can never leave the machine.
func ping(dev string, dst netip.Addr) error {
	network, proto := "ip4:icmp", 1
	var request, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if dst.Is6() {
		network, proto = "ip6:ipv6-icmp", 58
		request, reply = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) { err = unix.BindToDevice(int(fd), dev) }); cerr != nil {
			return cerr
		}
		return err
	}}
	conn, err := lc.ListenPacket(context.Background(), network, "")
	if err != nil {
		return fmt.Errorf("open ICMP socket: %w", err)
	}
	defer conn.Close()

	idBytes := make([]byte, 2)
	rand.Read(idBytes)
	id := int(idBytes[0])<<8 | int(idBytes[1])
	// A few tries, as the first request may wait on neighbour discovery.
	for seq := 1; seq <= 3; seq++ {
		msg := icmp.Message{Type: request, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("dataplane")}}
		b, err := msg.Marshal(nil) // the kernel fills in the ICMPv6 checksum
		if err != nil {
			return err
		}
		if _, err := conn.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			return fmt.Errorf("send echo request to %s: %w", dst, err)
		}
		if awaitReply(conn, proto, reply, id, seq) {
			return nil
		}
	}
	return fmt.Errorf("no echo reply from %s", dst)
}

// awaitReply reads for a second, looking for the echo reply to (id, seq).
func awaitReply(conn net.PacketConn, proto int, reply icmp.Type, id, seq int) bool {
	if err := conn.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		return false
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return false
		}
		msg, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || msg.Type != reply {
			continue
		}
		if echo, ok := msg.Body.(*icmp.Echo); ok && echo.ID == id && echo.Seq == seq {
			return true
		}
	}
}
