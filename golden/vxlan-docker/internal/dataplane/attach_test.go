package dataplane

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"example.com/demo/internal/nstest"

	"golang.org/x/sys/unix"
)

// The tests use the benchmarking range 198.18.0.0/15 and the documentation
// prefix 2001:db8::/32, which nothing on a host routes elsewhere.

func TestAttachDetach(t *testing.T) {
	nstest.RequireRoot(t)
	tests := []struct {
		name     string
		gateways []string
		addrs    []string
		routes   []Route
	}{
		{
			name:     "ipv4",
			gateways: []string{"198.18.0.1/24"},
			addrs:    []string{"198.18.0.2/24"},
			routes:   []Route{via("0.0.0.0/0", "198.18.0.1")},
		},
		{
			name:     "ipv6",
			gateways: []string{"2001:db8::1/64"},
			addrs:    []string{"2001:db8::2/64"},
			routes:   []Route{via("::/0", "2001:db8::1")},
		},
		{
			name:     "dual-stack",
			gateways: []string{"198.18.0.1/24", "2001:db8::1/64"},
			addrs:    []string{"198.18.0.2/24", "2001:db8::2/64"},
			routes: []Route{
				via("0.0.0.0/0", "198.18.0.1"),
				via("::/0", "2001:db8::1"),
				{Destination: netip.MustParsePrefix("198.19.0.0/16"), Gateway: netip.MustParseAddr("198.18.0.1"), Metric: 100},
				via("2001:db8:1::/64", ""),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := testBridge(t, tc.gateways...)
			a := testAttachment(t, nstest.NewNetns(t), tc.addrs, tc.routes...)
			a.MAC = net.HardwareAddr{0x02, 0x42, 0xc6, 0x12, 0x00, 0x02}

			res, err := Attach(b, a)
			if err != nil {
				t.Fatalf("Attach: %v", err)
			}
			if res.IfName != a.IfName || res.MAC.String() != a.MAC.String() || !slices.Equal(res.Addresses, a.Addresses) {
				t.Errorf("Attach = %+v, want %s with MAC %s and addresses %v", res, a.IfName, a.MAC, a.Addresses)
			}
			checkContainer(t, a)
			checkHost(t, b, a)
			for _, p := range a.Addresses {
				if err := ping(b.Name, p.Addr()); err != nil {
					t.Errorf("ping: %v", err)
				}
			}

			if _, err := Detach(b, a); err != nil {
				t.Fatalf("Detach: %v", err)
			}
			checkDetached(t, b, a)
		})
	}
}

// Docker moves the container end into the sandbox itself, so Attach leaves
// it on the host, unconfigured, and reports the addresses for Docker to set.
func TestAttachWithoutNetns(t *testing.T) {
	nstest.RequireRoot(t)
	b := testBridge(t, "198.18.0.1/24")
	a := testAttachment(t, "", []string{"198.18.0.2/24"})
	a.IfName = nstest.UniqueName("dpc")
	t.Cleanup(func() { removeLink(t, a.IfName) })

	res, err := Attach(b, a)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	h := hostHandle(t)
	peer := mustLookup(t, h, a.IfName)
	if res.MAC.String() != peer.Attrs().HardwareAddr.String() {
		t.Errorf("Attach MAC = %s, want the container end's %s", res.MAC, peer.Attrs().HardwareAddr)
	}
	if !slices.Equal(res.Addresses, a.Addresses) {
		t.Errorf("Attach addresses = %v, want %v", res.Addresses, a.Addresses)
	}
	if got := prefixes(t, h, peer); slices.Contains(got, a.Addresses[0]) {
		t.Errorf("address applied on the host end %s: %v", a.IfName, got)
	}
	checkHost(t, b, a)

	if _, err := Detach(b, a); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	checkDetached(t, b, a)
}

func TestDetachTwice(t *testing.T) {
	nstest.RequireRoot(t)
	b := testBridge(t, "198.18.0.1/24")
	a := testAttachment(t, nstest.NewNetns(t), []string{"198.18.0.2/24"})
	if _, err := Attach(b, a); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	for i := range 2 {
		if _, err := Detach(b, a); err != nil {
			t.Fatalf("Detach #%d: %v", i+1, err)
		}
	}
	checkDetached(t, b, a)
}

// netavark >= 2.1 tears down even when the container's netns is gone.
func TestDetachAfterNetnsDeleted(t *testing.T) {
	nstest.RequireRoot(t)
	b := testBridge(t, "198.18.0.1/24")
	a := testAttachment(t, nstest.NewNetns(t), []string{"198.18.0.2/24"})
	if _, err := Attach(b, a); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	nstest.DeleteNetns(t, a.NetnsPath)
	if _, err := Detach(b, a); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	checkDetached(t, b, a)
}

// netavark tears down networks whose setup never ran.
func TestDetachNothingAttached(t *testing.T) {
	nstest.RequireRoot(t)
	b := testBridge(t, "198.18.0.1/24")
	a := testAttachment(t, nstest.NewNetns(t), []string{"198.18.0.2/24"})
	if _, err := Detach(b, a); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	checkDetached(t, b, a)
}

func TestAttachRollsBack(t *testing.T) {
	nstest.RequireRoot(t)

	t.Run("created bridge", func(t *testing.T) {
		b := testBridge(t, "198.18.0.1/24")
		// 198.51.100.1 is not on any subnet of the container: the route
		// fails after the veth is configured.
		a := testAttachment(t, nstest.NewNetns(t), []string{"198.18.0.2/24"}, via("0.0.0.0/0", "198.51.100.1"))
		_, err := Attach(b, a)
		if !errors.Is(err, unix.ENETUNREACH) {
			t.Fatalf("Attach error = %v, want ENETUNREACH", err)
		}
		checkDetached(t, b, a)
	})

	t.Run("existing bridge", func(t *testing.T) {
		b := testBridge(t, "198.18.0.1/24")
		keep := testAttachment(t, nstest.NewNetns(t), []string{"198.18.0.2/24"})
		if _, err := Attach(b, keep); err != nil {
			t.Fatalf("Attach: %v", err)
		}
		// The failing call brings a gateway of its own, which must go
		// again with it, while the bridge and its other port stay.
		failing := b
		failing.Gateways = append(slices.Clone(b.Gateways), netip.MustParsePrefix("2001:db8::1/64"))
		a := testAttachment(t, nstest.NewNetns(t), []string{"198.18.0.3/24"}, via("0.0.0.0/0", "198.51.100.1"))
		if _, err := Attach(failing, a); !errors.Is(err, unix.ENETUNREACH) {
			t.Fatalf("Attach error = %v, want ENETUNREACH", err)
		}
		h := hostHandle(t)
		if lookup(t, h, a.HostIfName) != nil {
			t.Errorf("%s leaked", a.HostIfName)
		}
		br := mustLookup(t, h, b.Name)
		if got := ports(t, h, br); !slices.Equal(got, []string{keep.HostIfName}) {
			t.Errorf("bridge ports = %v, want [%s]", got, keep.HostIfName)
		}
		if got := prefixes(t, h, br); slices.Contains(got, failing.Gateways[1]) {
			t.Errorf("gateway %s left on the bridge: %v", failing.Gateways[1], got)
		}
	})

	t.Run("interface name taken", func(t *testing.T) {
		nsPath := nstest.NewNetns(t)
		first := testBridge(t, "198.18.0.1/24")
		keep := testAttachment(t, nsPath, []string{"198.18.0.2/24"})
		if _, err := Attach(first, keep); err != nil {
			t.Fatalf("Attach: %v", err)
		}
		// A second network asks for eth0 in the same container: the
		// veth cannot be created, and the bridge made for it must go.
		b := testBridge(t, "198.18.1.1/24")
		a := testAttachment(t, nsPath, []string{"198.18.1.2/24"})
		if _, err := Attach(b, a); !errors.Is(err, unix.EEXIST) {
			t.Fatalf("Attach error = %v, want EEXIST", err)
		}
		h := hostHandle(t)
		for _, name := range []string{a.HostIfName, b.Name} {
			if lookup(t, h, name) != nil {
				t.Errorf("%s leaked", name)
			}
		}
		checkContainer(t, keep)
		checkHost(t, first, keep)

		// The failed network's teardown must not take the first
		// network's eth0 with it.
		if _, err := Detach(b, a); err != nil {
			t.Fatalf("Detach: %v", err)
		}
		checkContainer(t, keep)
	})
}

// Twenty containers set up, then torn down, all at once, as podman does with
// parallel container starts: the lock must keep the bridge's creation and
// deletion consistent.
func TestConcurrentAttachDetach(t *testing.T) {
	nstest.RequireRoot(t)
	const n = 20
	b := testBridge(t, "198.18.0.1/24")
	lockDir := t.TempDir()
	atts := make([]Attachment, n)
	for i := range atts {
		addr := net.IPv4(198, 18, 0, byte(10+i)).String() + "/24"
		atts[i] = testAttachment(t, nstest.NewNetns(t), []string{addr}, via("0.0.0.0/0", "198.18.0.1"))
	}
	locked := func(op func(Attachment) error) func(Attachment) error {
		return func(a Attachment) error {
			return Locked(lockDir, b.Name, func(*FileLock) error { return op(a) })
		}
	}

	forAll(t, atts, locked(func(a Attachment) error {
		_, err := Attach(b, a)
		return err
	}))
	h := hostHandle(t)
	if got := ports(t, h, mustLookup(t, h, b.Name)); len(got) != n {
		t.Errorf("bridge has %d ports, want %d", len(got), n)
	}
	for _, a := range atts {
		checkContainer(t, a)
	}

	forAll(t, atts, locked(func(a Attachment) error {
		_, err := Detach(b, a)
		return err
	}))
	for _, a := range atts {
		checkDetached(t, b, a)
	}
}

// forAll runs op on every attachment at once and fails the test for each
// error.
func forAll(t *testing.T, atts []Attachment, op func(Attachment) error) {
	t.Helper()
	errs := make([]error, len(atts))
	var wg sync.WaitGroup
	for i, a := range atts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = op(a)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
