package overlay

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/nstest"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	os.Exit(nstest.Main(m.Run))
}

// The underlay is 192.0.2.0/24 and 2001:db8:1::/64; the segments' subnets
// are 10.42.0.0/24 and fd42::/64. The tests' namespaces are the test
// process's own, where nothing routes them elsewhere.

const (
	testVNI  = 42
	testPort = 7000 // the containers' servers
)

var testGateways = []netip.Prefix{netip.MustParsePrefix("10.42.0.1/24"), netip.MustParsePrefix("fd42::1/64")}

// host is a namespace that plays a host on the underlay.
type host struct {
	ns         string
	h          *netlink.Handle
	vtep4      netip.Addr
	vtep6      netip.Addr
	underlayIf string
}

// newUnderlay makes n hosts, each behind a veth (eth0 on the host's side)
// from a bridge in the test's namespace, with the addresses 192.0.2.11,
// .12 ... and 2001:db8:1::11, ::12 ...
func newUnderlay(t *testing.T, n int) []host {
	t.Helper()
	nstest.RequireRoot(t)
	test, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(test.Close)
	attrs := netlink.NewLinkAttrs()
	attrs.Name = nstest.UniqueName("ul")
	attrs.Flags = net.FlagUp
	ul := &netlink.Bridge{LinkAttrs: attrs}
	if err := test.LinkAdd(ul); err != nil {
		t.Fatalf("create the underlay bridge: %v", err)
	}
	t.Cleanup(func() { test.LinkDel(ul) })

	hosts := make([]host, n)
	for i := range hosts {
		hst := host{
			ns:         nstest.NewNetns(t),
			vtep4:      netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", 11+i)),
			vtep6:      netip.MustParseAddr(fmt.Sprintf("2001:db8:1::%d", 11+i)),
			underlayIf: "eth0",
		}
		hst.h = nstest.Handle(t, hst.ns)
		ns, err := netns.GetFromPath(hst.ns)
		if err != nil {
			t.Fatal(err)
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = nstest.UniqueName("ul")
		attrs.MasterIndex = ul.Index
		attrs.Flags = net.FlagUp
		err = test.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: hst.underlayIf, PeerNamespace: netlink.NsFd(ns)})
		ns.Close()
		if err != nil {
			t.Fatalf("create the underlay link of host %d: %v", i+1, err)
		}
		eth0 := mustLookup(t, hst.h, hst.underlayIf)
		for _, p := range []netip.Prefix{netip.PrefixFrom(hst.vtep4, 24), netip.PrefixFrom(hst.vtep6, 64)} {
			addr := &netlink.Addr{IPNet: ipNet(p), Flags: unix.IFA_F_NODAD}
			if err := hst.h.AddrAdd(eth0, addr); err != nil {
				t.Fatalf("add %s to host %d: %v", p, i+1, err)
			}
		}
		for _, l := range []netlink.Link{eth0, mustLookup(t, hst.h, "lo")} {
			if err := hst.h.LinkSetUp(l); err != nil {
				t.Fatal(err)
			}
		}
		hosts[i] = hst
	}
	return hosts
}

// segment is the segment testVNI as host hst sees it, over IPv4.
func (hst host) segment() Segment {
	return Segment{VNI: testVNI, VTEP: hst.vtep4, Gateways: testGateways, Owner: "overlay-test"}
}

// ensure runs Ensure in the host's namespace.
func (hst host) ensure(t *testing.T, s Segment) (b dataplane.Bridge, err error) {
	t.Helper()
	nstest.Do(t, hst.ns, func() { b, err = Ensure(s) })
	return b, err
}

// container is a container's namespace, as its host's peers see it.
type container struct {
	ns   string
	peer Peer
}

// attach makes a container with the addresses 10.42.0.<n> and fd42::<n>
// behind host hst, attached to bridge b, with a server on testPort.
func (hst host) attach(t *testing.T, b dataplane.Bridge, n int, vtep netip.Addr) container {
	t.Helper()
	c := container{ns: nstest.NewNetns(t)}
	a := dataplane.Attachment{
		NetnsPath:  c.ns,
		IfName:     "eth0",
		HostIfName: dataplane.HostIfName(c.ns),
	}
	for _, gw := range b.Gateways {
		addr := gw.Addr().As16()
		addr[15] = byte(n)
		ip := netip.AddrFrom16(addr)
		if gw.Addr().Is4() {
			ip = ip.Unmap()
		}
		a.Addresses = append(a.Addresses, netip.PrefixFrom(ip, gw.Bits()))
		a.Routes = append(a.Routes, dataplane.Route{Destination: netip.PrefixFrom(ip, 0).Masked(), Gateway: gw.Addr()})
		c.peer.Addresses = append(c.peer.Addresses, ip)
	}
	var res dataplane.Result
	var err error
	nstest.Do(t, hst.ns, func() { res, err = dataplane.Attach(b, a) })
	if err != nil {
		t.Fatalf("attach container %d: %v", n, err)
	}
	c.peer.MAC, c.peer.VTEP = res.MAC, vtep
	nstest.Serve(t, c.ns, "tcp", testPort)
	return c
}

func (hst host) sync(t *testing.T, vni uint32, cs ...container) {
	t.Helper()
	peers := make([]Peer, len(cs))
	for i, c := range cs {
		peers[i] = c.peer
	}
	var err error
	nstest.Do(t, hst.ns, func() { err = Sync(vni, peers) })
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// reach connects from container from to each address of container to and
// checks that to's server saw from's own address of that family.
func reach(t *testing.T, from, to container) {
	t.Helper()
	for i, dst := range to.peer.Addresses {
		got, err := nstest.Probe(from.ns, "tcp", netip.AddrPortFrom(dst, testPort).String(), 3*time.Second)
		if err != nil {
			t.Errorf("%s -> %s: %v", from.peer.Addresses[i], dst, err)
		} else if want := from.peer.Addresses[i].String(); got != want {
			t.Errorf("%s -> %s: the server saw %s", want, dst, got)
		}
	}
}

// unreachable checks that no address of container to answers container from.
func unreachable(t *testing.T, from, to container) {
	t.Helper()
	for _, dst := range to.peer.Addresses {
		_, err := nstest.Probe(from.ns, "tcp", netip.AddrPortFrom(dst, testPort).String(), 300*time.Millisecond)
		if !errors.Is(err, nstest.ErrUnreachable) {
			t.Errorf("%s reached %s", from.peer.Addresses[0], dst)
		}
	}
}

// entries reads the remote entries of the VXLAN device of vni in the
// host's namespace: its forwarding entries ("MAC VTEP"), which must all be
// static, and its neighbour entries ("IP MAC"), which must all be
// permanent.
func (hst host) entries(t *testing.T, vni uint32) (fdb, neighs map[string]bool) {
	t.Helper()
	vx := mustLookup(t, hst.h, VXLANName(vni))
	fdb, neighs = make(map[string]bool), make(map[string]bool)
	for _, family := range []int{unix.AF_BRIDGE, unix.AF_INET, unix.AF_INET6} {
		list, err := hst.h.NeighList(vx.Attrs().Index, family)
		if err != nil {
			t.Fatalf("list the entries of %s: %v", vx.Attrs().Name, err)
		}
		for _, n := range list {
			switch {
			case family != unix.AF_BRIDGE && n.State&netlink.NUD_PERMANENT == 0:
			case family != unix.AF_BRIDGE:
				neighs[n.IP.String()+" "+n.HardwareAddr.String()] = true
			case n.Flags&netlink.NTF_SELF == 0: // the bridge's
			case n.State != netlink.NUD_PERMANENT:
				t.Errorf("forwarding entry %s %s is in state %#x", n.HardwareAddr, n.IP, n.State)
			default:
				fdb[n.HardwareAddr.String()+" "+n.IP.String()] = true
			}
		}
	}
	return fdb, neighs
}

// checkEntries checks that the VXLAN device of vni has the entries of cs
// and no others.
func (hst host) checkEntries(t *testing.T, vni uint32, cs ...container) {
	t.Helper()
	wantFDB, wantNeighs := make(map[string]bool), make(map[string]bool)
	for _, c := range cs {
		wantFDB[c.peer.MAC.String()+" "+c.peer.VTEP.String()] = true
		for _, a := range c.peer.Addresses {
			wantNeighs[a.String()+" "+c.peer.MAC.String()] = true
		}
	}
	fdb, neighs := hst.entries(t, vni)
	if !maps.Equal(fdb, wantFDB) {
		t.Errorf("%s: forwarding entries %v, want %v", hst.ns, fdb, wantFDB)
	}
	if !maps.Equal(neighs, wantNeighs) {
		t.Errorf("%s: neighbour entries %v, want %v", hst.ns, neighs, wantNeighs)
	}
}

// TestOverlay builds the segment on three hosts with a container each, and
// checks that the containers reach each other over IPv4 and IPv6 exactly as
// far as the hosts' peers allow.
func TestOverlay(t *testing.T) {
	hosts := newUnderlay(t, 3)
	cs := make([]container, len(hosts))
	for i, hst := range hosts {
		b, err := hst.ensure(t, hst.segment())
		if err != nil {
			t.Fatalf("Ensure on host %d: %v", i+1, err)
		}
		if b.Name != BridgeName(testVNI) || b.MTU != 1450 {
			t.Errorf("Ensure = bridge %s with MTU %d, want %s with 1450", b.Name, b.MTU, BridgeName(testVNI))
		}
		cs[i] = hst.attach(t, b, 11+i, hst.vtep4)
	}
	// Each host gets every container: its own is skipped.
	for _, hst := range hosts {
		hst.sync(t, testVNI, cs...)
	}
	for i, hst := range hosts {
		others := append(cs[:i:i], cs[i+1:]...)
		hst.checkEntries(t, testVNI, others...)
	}
	for i := range cs {
		for j := range cs {
			if i != j {
				reach(t, cs[i], cs[j])
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	t.Run("unchanged", func(t *testing.T) {
		// A Sync that changes nothing deletes and adds no entry: the
		// first entry that changes is the marker added after it. Nor
		// does it replace one with itself, which the kernel reports
		// only by restarting the entry's confirmed time.
		marker := Peer{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x99}, VTEP: hosts[1].vtep4}
		updates := subscribe(t, hosts[0])
		time.Sleep(20 * time.Millisecond) // two clock ticks
		before := hosts[0].confirmed(t)
		hosts[0].sync(t, testVNI, cs...)
		for ip, ticks := range hosts[0].confirmed(t) {
			if ticks < before[ip] {
				t.Errorf("Sync of the same peers replaced the neighbour entry of %s", ip)
			}
		}
		var err error
		nstest.Do(t, hosts[0].ns, func() { err = Add(testVNI, marker) })
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		select {
		case u := <-updates:
			if u.HardwareAddr.String() != marker.MAC.String() {
				t.Errorf("Sync of the same peers changed entry %s %s (update type %d)", u.HardwareAddr, u.IP, u.Type)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("no notification of the marker's entry")
		}
	})

	t.Run("departed", func(t *testing.T) {
		// Container 3 goes: hosts 1 and 2 drop it, and the marker.
		hosts[0].sync(t, testVNI, cs[:2]...)
		hosts[1].sync(t, testVNI, cs[:2]...)
		hosts[0].checkEntries(t, testVNI, cs[1])
		hosts[1].checkEntries(t, testVNI, cs[0])
		unreachable(t, cs[0], cs[2])
		unreachable(t, cs[1], cs[2])
		reach(t, cs[0], cs[1])
	})

	t.Run("add and delete", func(t *testing.T) {
		var err error
		nstest.Do(t, hosts[0].ns, func() { err = Add(testVNI, cs[2].peer) })
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		hosts[0].checkEntries(t, testVNI, cs[1], cs[2])
		reach(t, cs[0], cs[2])

		// A Delete for an address's former owner leaves its new one.
		former := Peer{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x98}, Addresses: cs[2].peer.Addresses, VTEP: hosts[2].vtep4}
		nstest.Do(t, hosts[0].ns, func() { err = Delete(testVNI, former) })
		if err != nil {
			t.Fatalf("Delete of a former owner: %v", err)
		}
		hosts[0].checkEntries(t, testVNI, cs[1], cs[2])

		nstest.Do(t, hosts[0].ns, func() { err = Delete(testVNI, cs[2].peer) })
		if err != nil {
			t.Fatalf("Delete: %v", err)
		}
		hosts[0].checkEntries(t, testVNI, cs[1])
		unreachable(t, cs[0], cs[2])
		nstest.Do(t, hosts[0].ns, func() { err = Delete(testVNI, cs[2].peer) })
		if err != nil {
			t.Errorf("second Delete: %v", err)
		}
	})

	t.Run("invalid peers", func(t *testing.T) {
		before := nstest.Snapshot(t, hosts[0].ns)
		fdb, neighs := hosts[0].entries(t, testVNI)
		sameMAC := cs[2].peer
		sameMAC.MAC = cs[1].peer.MAC
		sameAddr := cs[2].peer
		sameAddr.Addresses = cs[1].peer.Addresses[:1]
		for name, peers := range map[string][]Peer{
			"two peers with MAC":     {cs[1].peer, sameMAC},
			"two peers with address": {cs[1].peer, sameAddr},
			"different IP versions":  {cs[1].peer, {MAC: cs[2].peer.MAC, VTEP: hosts[2].vtep6}},
			"not a unicast address":  {{MAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1}, VTEP: hosts[2].vtep4}},
		} {
			var err error
			nstest.Do(t, hosts[0].ns, func() { err = Sync(testVNI, peers) })
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("Sync error = %v, want %q", err, name)
			}
		}
		gotFDB, gotNeighs := hosts[0].entries(t, testVNI)
		if !maps.Equal(fdb, gotFDB) || !maps.Equal(neighs, gotNeighs) {
			t.Errorf("a Sync that failed changed the entries")
		}
		if diff := nstest.Diff(before, nstest.Snapshot(t, hosts[0].ns)); diff != "" {
			t.Errorf("a Sync that failed changed the host:\n%s", diff)
		}
	})
}

// confirmed returns how long ago, in clock ticks, each permanent neighbour
// entry of the VXLAN device of testVNI was last confirmed.
func (hst host) confirmed(t *testing.T) map[string]uint32 {
	t.Helper()
	index := mustLookup(t, hst.h, VXLANName(testVNI)).Attrs().Index
	ticks := make(map[string]uint32)
	for _, family := range []int{unix.AF_INET, unix.AF_INET6} {
		list, err := hst.h.NeighList(index, family)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range list {
			if n.State == netlink.NUD_PERMANENT {
				ticks[n.IP.String()] = n.Confirmed
			}
		}
	}
	return ticks
}

// subscribe returns the changes of the entries of the VXLAN device of
// testVNI in the host's namespace from now on, other than the bridge's and
// the kernel's own (of multicast and link-local addresses).
func subscribe(t *testing.T, hst host) <-chan netlink.NeighUpdate {
	t.Helper()
	index := mustLookup(t, hst.h, VXLANName(testVNI)).Attrs().Index
	ns, err := netns.GetFromPath(hst.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	all := make(chan netlink.NeighUpdate, 100)
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	if err := netlink.NeighSubscribeAt(ns, all, done); err != nil {
		t.Fatal(err)
	}
	ours := make(chan netlink.NeighUpdate, 100)
	go func() {
		for u := range all {
			kernel := u.Family != unix.AF_BRIDGE && (u.IP.IsMulticast() || u.IP.IsLinkLocalUnicast())
			bridge := u.Family == unix.AF_BRIDGE && u.Flags&netlink.NTF_SELF == 0
			if u.LinkIndex == index && !kernel && !bridge {
				ours <- u
			}
		}
	}()
	return ours
}

// TestOverlayIPv6Underlay runs the segment between two hosts over their
// IPv6 addresses.
func TestOverlayIPv6Underlay(t *testing.T) {
	hosts := newUnderlay(t, 2)
	var cs []container
	for i, hst := range hosts {
		s := hst.segment()
		s.VTEP = hst.vtep6
		b, err := hst.ensure(t, s)
		if err != nil {
			t.Fatalf("Ensure on host %d: %v", i+1, err)
		}
		if b.MTU != 1430 {
			t.Errorf("MTU = %d, want 1430", b.MTU)
		}
		cs = append(cs, hst.attach(t, b, 11+i, hst.vtep6))
	}
	for _, hst := range hosts {
		hst.sync(t, testVNI, cs...)
	}
	hosts[0].checkEntries(t, testVNI, cs[1])
	reach(t, cs[0], cs[1])
	reach(t, cs[1], cs[0])
}

func TestEnsure(t *testing.T) {
	hst := newUnderlay(t, 1)[0]
	s := hst.segment()

	t.Run("devices", func(t *testing.T) {
		if _, err := hst.ensure(t, s); err != nil {
			t.Fatalf("Ensure: %v", err)
		}
		before := hst.settled(t)
		b, err := hst.ensure(t, s)
		if err != nil {
			t.Fatalf("second Ensure: %v", err)
		}
		if diff := nstest.Diff(before, nstest.Snapshot(t, hst.ns)); diff != "" {
			t.Errorf("second Ensure changed the host:\n%s", diff)
		}
		if b.Name != BridgeName(testVNI) || b.MTU != 1450 || b.Owner != s.Owner || len(b.Gateways) != 2 {
			t.Errorf("second Ensure = %+v", b)
		}

		br := mustLookup(t, hst.h, BridgeName(testVNI))
		link := mustLookup(t, hst.h, VXLANName(testVNI))
		vx, ok := link.(*netlink.Vxlan)
		if !ok {
			t.Fatalf("%s is a %s", VXLANName(testVNI), link.Type())
		}
		eth0 := mustLookup(t, hst.h, hst.underlayIf)
		switch {
		case vx.VxlanId != testVNI, vx.Port != DefaultPort, !vx.SrcAddr.Equal(hst.vtep4.AsSlice()),
			vx.VtepDevIndex != eth0.Attrs().Index, vx.Learning, !vx.Proxy, vx.MTU != 1450:
			t.Errorf("VXLAN device = VNI %d port %d local %s device %d learning %t proxy %t MTU %d",
				vx.VxlanId, vx.Port, vx.SrcAddr, vx.VtepDevIndex, vx.Learning, vx.Proxy, vx.MTU)
		}
		if vx.MasterIndex != br.Attrs().Index {
			t.Errorf("%s is not a port of %s", vx.Name, br.Attrs().Name)
		}
		for _, l := range []netlink.Link{br, vx} {
			if l.Attrs().Flags&net.FlagUp == 0 {
				t.Errorf("%s is down", l.Attrs().Name)
			}
		}
		addrs, err := hst.h.AddrList(br, netlink.FAMILY_ALL)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range addrs {
			if !a.IP.IsLinkLocalUnicast() {
				got = append(got, a.IPNet.String())
			}
		}
		if strings.Join(got, " ") != "10.42.0.1/24 fd42::1/64" {
			t.Errorf("bridge addresses = %v, want the gateways", got)
		}
	})

	// Each case fails without changing the host; Ensure of VNI 42 has run.
	foreign := &netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: "foreign"}, VxlanId: 43, SrcAddr: hst.vtep4.AsSlice(), Port: DefaultPort}
	if err := hst.h.LinkAdd(foreign); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		change  func(*Segment)
		wantErr string
	}{
		{"VTEP elsewhere", func(s *Segment) { s.VNI, s.VTEP = 44, netip.MustParseAddr("192.0.2.99") }, "VTEP 192.0.2.99 is not an address of this host"},
		{"missing device", func(s *Segment) { s.VNI, s.Device = 44, "eth9" }, "look up the underlay device"},
		{"MTU too large", func(s *Segment) { s.VNI, s.MTU = 44, 1460 }, "MTU 1460 is more than eth0's 1500"},
		{"other VTEP", func(s *Segment) { s.VTEP = hst.vtep6 }, "vxlan42 exists with VTEP 192.0.2.11"},
		{"other port", func(s *Segment) { s.Port = 4790 }, "vxlan42 exists with port 4789"},
		{"VNI too large", func(s *Segment) { s.VNI = 1 << 24 }, "VNI 16777216 is more than 16777215"},
		// The bridge is created, then the VXLAN device fails: its VNI is
		// taken.
		{"rolled back", func(s *Segment) { s.VNI = 43 }, "create VXLAN device vxlan43"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := nstest.Snapshot(t, hst.ns)
			s := hst.segment()
			tc.change(&s)
			if _, err := hst.ensure(t, s); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Ensure error = %v, want %q", err, tc.wantErr)
			}
			if diff := nstest.Diff(before, nstest.Snapshot(t, hst.ns)); diff != "" {
				t.Errorf("Ensure changed the host:\n%s", diff)
			}
		})
	}

	t.Run("detach of the last container", func(t *testing.T) {
		b, err := hst.ensure(t, hst.segment())
		if err != nil {
			t.Fatal(err)
		}
		// No container is attached: Detach of one that is gone removes
		// the bridge with its uplink, the VXLAN device, and again finds
		// nothing to remove.
		gone := dataplane.Attachment{HostIfName: dataplane.HostIfName("gone")}
		for i := range 2 {
			var d dataplane.Detached
			nstest.Do(t, hst.ns, func() { d, err = dataplane.Detach(b, gone) })
			if err != nil || !d.BridgeGone {
				t.Fatalf("Detach #%d = %+v, %v; want the bridge gone", i+1, d, err)
			}
		}
		for _, name := range []string{BridgeName(testVNI), VXLANName(testVNI)} {
			if lookup(t, hst.h, name) != nil {
				t.Errorf("%s left after Detach", name)
			}
		}
		if lookup(t, hst.h, "foreign") == nil {
			t.Errorf("Detach deleted another VXLAN device")
		}
	})
}

// settled returns a Snapshot of the host once the kernel has done what it
// does by itself when the bridge of testVNI gets its first port, up to a
// second later: the bridge's IPv6 link-local address, and the routes to its
// IPv6 gateway.
func (hst host) settled(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		s := nstest.Snapshot(t, hst.ns)
		done := strings.Contains(s, "addr "+BridgeName(testVNI)+" fe80::") && strings.Contains(s, "dst=fd42::1/128")
		if done || time.Now().After(deadline) {
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSyncScale programs 1,000 peers, each with an IPv4 and an IPv6
// address, and changes a tenth of them.
func TestSyncScale(t *testing.T) {
	hst := newUnderlay(t, 1)[0]
	if _, err := hst.ensure(t, hst.segment()); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	peers := make([]container, 1000)
	for i := range peers {
		peers[i].peer = Peer{
			MAC:       net.HardwareAddr{2, 0, 0, 0, byte(i >> 8), byte(i)},
			Addresses: []netip.Addr{netip.AddrFrom4([4]byte{10, 42, byte(i >> 8), byte(i)}), netip.AddrFrom16([16]byte{0: 0xfd, 1: 0x42, 14: byte(i >> 8), 15: byte(i)})},
			VTEP:      netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i%100)}),
		}
	}
	timed := func(what string, cs []container) {
		start := time.Now()
		hst.sync(t, testVNI, cs...)
		t.Logf("Sync %s: %v", what, time.Since(start))
		hst.checkEntries(t, testVNI, cs...)
	}
	timed("1,000 new peers", peers)
	timed("the same 1,000 peers", peers)
	moved := append([]container(nil), peers[100:]...)
	for i := range 100 {
		c := peers[i]
		c.peer.VTEP = netip.AddrFrom4([4]byte{192, 0, 2, 250})
		moved = append(moved, c)
	}
	timed("1,000 peers, 100 moved", moved)

	// Delete reads the entries of its peer alone: deleting 100 of 1,000
	// costs the same each as deleting from a small table would.
	start := time.Now()
	nstest.Do(t, hst.ns, func() {
		for _, c := range moved[:100] {
			if err := Delete(testVNI, c.peer); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		}
	})
	t.Logf("Delete 100 of 1,000 peers, one at a time: %v each", time.Since(start)/100)
	hst.checkEntries(t, testVNI, moved[100:]...)

	timed("100 of the peers", moved[:100])
	timed("no peers", nil)
}

func mustLookup(t testing.TB, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	l := lookup(t, h, name)
	if l == nil {
		t.Fatalf("%s not found", name)
	}
	return l
}

// lookup returns the link called name, or nil if there is none.
func lookup(t testing.TB, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	l, err := h.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("look up %s: %v", name, err)
	}
	return l
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
