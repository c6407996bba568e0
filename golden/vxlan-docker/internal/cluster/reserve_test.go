package cluster_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"example.com/demo/internal/cluster"
)

// TestReserveConcurrent has two clients, as two managers of a swarm,
// reserve 20 addresses of one subnet at once: 20 distinct ones, each
// written as reserved with no lease, the gateway never among them.
func TestReserveConcurrent(t *testing.T) {
	e := newEnv(t)
	clients := []*cluster.Cluster{e.open(cluster.Config{}), e.open(cluster.Config{})}
	mustCreate(t, clients[0], "net", subnet("10.8.0.0/24", "10.8.0.1"))
	pool := netip.MustParsePrefix("10.8.0.0/24")
	var (
		mu   sync.Mutex
		got  = map[netip.Prefix]bool{}
		wg   sync.WaitGroup
		errs []error
	)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := clients[i%2].Reserve(context.Background(), pool, netip.Addr{})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			got[a] = true
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := map[netip.Prefix]bool{}
	for i := 2; i <= 21; i++ {
		want[netip.MustParsePrefix(fmt.Sprintf("10.8.0.%d/24", i))] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reserved %v, want .2 to .21", got)
	}
	keys, _ := e.keys("addresses/net/")
	if len(keys) != 20 {
		t.Errorf("%d address keys, want 20", len(keys))
	}
	for k, v := range keys {
		if v != cluster.Reserved {
			t.Errorf("%s = %q, want %q", k, v, cluster.Reserved)
		}
	}
}

// TestReserveAndAttach follows an address of a swarm's container: the
// manager reserves it, a host records the endpoint with it, which is
// refused for an address that is not reserved and leaves the address
// reserved when it goes, and the manager releases it.
func TestReserveAndAttach(t *testing.T) {
	e := newEnv(t)
	c := e.open(cluster.Config{})
	mustCreate(t, c, "net", subnet("10.9.0.0/24", ""), subnet("fd09::/64", ""))
	ctx := context.Background()
	pool := netip.MustParsePrefix("10.9.0.0/24")

	a, err := c.Reserve(ctx, pool, netip.MustParseAddr("10.9.0.7"))
	if err != nil || a != netip.MustParsePrefix("10.9.0.7/24") {
		t.Fatalf("Reserve 10.9.0.7: %v, %v", a, err)
	}
	_, err = c.Reserve(ctx, pool, netip.MustParseAddr("10.9.0.7"))
	wantErr(t, err, cluster.ErrAddressInUse, "10.9.0.7")
	_, err = c.Reserve(ctx, netip.MustParsePrefix("10.99.0.0/24"), netip.Addr{})
	wantErr(t, err, cluster.ErrNetworkNotFound, "10.99.0.0/24")
	v6, err := c.Reserve(ctx, netip.MustParsePrefix("fd09::/64"), netip.Addr{})
	if err != nil || v6 != netip.MustParsePrefix("fd09::1/64") {
		t.Fatalf("Reserve in fd09::/64: %v, %v", v6, err)
	}

	lease := mustRegister(t, c, "h1")
	_, rev := e.keys("")
	unreserved := endpoint("net", "h1", "ep0", "10.9.0.8/24")
	unreserved.Reserved = true
	_, err = c.Attach(ctx, unreserved, lease)
	if err == nil || !strings.Contains(err.Error(), "not all reserved") {
		t.Errorf("Attach of an address that is not reserved: %v, want a refusal", err)
	}
	e.unchanged(rev)

	ep := endpoint("net", "h1", "ep1", "10.9.0.7/24", "fd09::1/64")
	ep.Reserved = true
	mustAttach(t, c, ep, lease)
	if got, found, err := c.Endpoint(ctx, "net", "h1", "ep1"); err != nil || !found || !got.Reserved {
		t.Errorf("Endpoint: %+v, %v, %v: want the reserved endpoint", got, found, err)
	}
	// Another endpoint may not take the address for its own.
	_, err = c.Attach(ctx, endpoint("net", "h1", "ep2", "10.9.0.7/24"), lease)
	wantErr(t, err, cluster.ErrAddressInUse)

	if err := c.Detach(ctx, "net", "h1", "ep1"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := e.keys("addresses/net/"); len(keys) != 2 {
		t.Errorf("after Detach: addresses %v, want both still reserved", keys)
	}
	if err := c.Release(ctx, pool, a.Addr()); err != nil {
		t.Fatal(err)
	}
	// An endpoint's own address is not Release's to free.
	own := mustAttach(t, c, endpoint("net", "h1", "ep3"), lease)
	if err := c.Release(ctx, pool, own.Addresses[0].Addr()); err != nil {
		t.Fatal(err)
	}
	keys, _ := e.keys("addresses/net/")
	if _, ok := keys[prefix+"addresses/net/10.9.0.7"]; ok {
		t.Errorf("10.9.0.7 still reserved after Release")
	}
	if v := keys[prefix+"addresses/net/"+own.Addresses[0].Addr().String()]; !strings.HasSuffix(v, "/ep3") {
		t.Errorf("Release freed the address of endpoint ep3: %v", keys)
	}
	if err := c.Detach(ctx, "net", "h1", "ep3"); err != nil {
		t.Fatal(err)
	}
	// Deleting the network frees the reservations left.
	if err := c.DeleteNetwork(ctx, "net"); err != nil {
		t.Fatal(err)
	}
	if keys, _ := e.keys("addresses/"); len(keys) > 0 {
		t.Errorf("after DeleteNetwork: %v", keys)
	}
	// The engine releases a network's gateway after freeing it.
	if err := c.Release(ctx, pool, netip.MustParseAddr("10.9.0.1")); err != nil {
		t.Errorf("Release in a deleted network: %v", err)
	}
}
