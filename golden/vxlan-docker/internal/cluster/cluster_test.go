package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"example.com/demo/internal/cluster"
	"example.com/demo/internal/etcdtest"
	"example.com/demo/internal/testpki"
)

const prefix = "/test/"

// env is an etcd server of one test, with a client of its own to look at
// the keys as they are.
type env struct {
	t   *testing.T
	srv *etcdtest.Server
	raw *clientv3.Client
}

func newEnv(t *testing.T) *env {
	srv := etcdtest.Start(t, "127.0.0.1")
	raw, err := clientv3.New(clientv3.Config{Endpoints: srv.Endpoints(), Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return &env{t: t, srv: srv, raw: raw}
}

// open returns a new client of the cluster, configured by cfg with the
// server's endpoints and the test's prefix.
func (e *env) open(cfg cluster.Config) *cluster.Cluster {
	e.t.Helper()
	cfg.Endpoints = e.srv.Endpoints()
	cfg.Prefix = prefix
	c, err := cluster.Open(context.Background(), cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// keys returns the keys under prefix+sub with their values, and etcd's
// revision.
func (e *env) keys(sub string) (map[string]string, int64) {
	e.t.Helper()
	resp, err := e.raw.Get(context.Background(), prefix+sub, clientv3.WithPrefix())
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]string{}
	for _, kv := range resp.Kvs {
		m[string(kv.Key)] = string(kv.Value)
	}
	return m, resp.Header.Revision
}

// unchanged fails the test if etcd has had a write since revision rev.
func (e *env) unchanged(rev int64) {
	e.t.Helper()
	if _, now := e.keys(""); now != rev {
		e.t.Errorf("etcd went from revision %d to %d: something was written", rev, now)
	}
}

func subnet(prefix, gateway string) cluster.Subnet {
	s := cluster.Subnet{Prefix: netip.MustParsePrefix(prefix)}
	if gateway != "" {
		s.Gateway = netip.MustParseAddr(gateway)
	}
	return s
}

func mustCreate(t *testing.T, c *cluster.Cluster, name string, subnets ...cluster.Subnet) cluster.Network {
	t.Helper()
	n, err := c.CreateNetwork(context.Background(), cluster.Network{Name: name, Subnets: subnets})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func mustRegister(t *testing.T, c *cluster.Cluster, host string) clientv3.LeaseID {
	t.Helper()
	lease, err := c.RegisterHost(context.Background(), host, netip.MustParseAddr("192.0.2.1"), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return lease
}

func endpoint(network, host, key string, addrs ...string) cluster.Endpoint {
	ep := cluster.Endpoint{Network: network, Host: host, Key: key, VTEP: netip.MustParseAddr("192.0.2.1"), MAC: "02:00:00:00:00:01"}
	for _, a := range addrs {
		ep.Addresses = append(ep.Addresses, netip.MustParsePrefix(a))
	}
	return ep
}

func mustAttach(t *testing.T, c *cluster.Cluster, ep cluster.Endpoint, lease clientv3.LeaseID) cluster.Endpoint {
	t.Helper()
	got, err := c.Attach(context.Background(), ep, lease)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func wantErr(t *testing.T, err, target error, texts ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
	for _, s := range texts {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

func TestOpenNoEndpoints(t *testing.T) {
	_, err := cluster.Open(context.Background(), cluster.Config{})
	wantErr(t, err, cluster.ErrNoEtcd, "etcd", "--etcd-endpoints", "configuration")
}

func TestOpenUnreachable(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	start := time.Now()
	_, err = cluster.Open(context.Background(), cluster.Config{Endpoints: []string{url}})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open took %s", d)
	}
	wantErr(t, err, cluster.ErrUnreachable, "etcd at "+url+" is unreachable", "--etcd-endpoints", "README")
}

// TestOpenTLS opens an etcd that serves TLS and requires client
// certificates: with this host's certificate of the etcd's CA, the
// cluster answers; without one, or with one of another CA, Open fails.
func TestOpenTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, dir, "etcd")
	server := ca.Server(t, "etcd", net.IPv4(127, 0, 0, 1))
	srv := etcdtest.StartTLS(t, "127.0.0.1", etcdtest.TLS{Cert: server.Cert, Key: server.Key, CA: ca.Cert})
	host := ca.Client(t, "h1")
	cfg := cluster.Config{Endpoints: srv.Endpoints(), CACert: ca.Cert, Cert: host.Cert, Key: host.Key, DialTimeout: time.Second}
	c, err := cluster.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open with a client certificate: %v", err)
	}
	if _, err := c.CreateNetwork(context.Background(), cluster.Network{Name: "n", Subnets: []cluster.Subnet{subnet("10.1.0.0/24", "10.1.0.1")}}); err != nil {
		t.Errorf("create a network over TLS: %v", err)
	}
	c.Close()

	stranger := testpki.NewCA(t, dir, "other").Client(t, "h2")
	for name, cfg := range map[string]cluster.Config{
		"no client certificate":             {Endpoints: srv.Endpoints(), CACert: ca.Cert, DialTimeout: time.Second},
		"a certificate of another CA":       {Endpoints: srv.Endpoints(), CACert: ca.Cert, Cert: stranger.Cert, Key: stranger.Key, DialTimeout: time.Second},
		"no CA to check etcd's certificate": {Endpoints: srv.Endpoints(), Cert: host.Cert, Key: host.Key, DialTimeout: time.Second},
	} {
		if c, err := cluster.Open(context.Background(), cfg); err == nil {
			c.Close()
			t.Errorf("Open with %s succeeded", name)
		}
	}
	if _, err := cluster.Open(context.Background(), cluster.Config{Endpoints: srv.Endpoints(), CACert: filepath.Join(dir, "missing.pem")}); err == nil || !strings.Contains(err.Error(), "etcd TLS files") {
		t.Errorf("Open with a missing CA file: %v", err)
	}
}

func TestCreateNetworkUniqueVNIs(t *testing.T) {
	e := newEnv(t)
	const n = 20
	clients := make([]*cluster.Cluster, n)
	for i := range clients {
		clients[i] = e.open(cluster.Config{})
	}
	nets := make([]cluster.Network, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{}) // all at once
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			nets[i], errs[i] = c.CreateNetwork(context.Background(), cluster.Network{
				Name:    fmt.Sprintf("net%d", i),
				Subnets: []cluster.Subnet{subnet(fmt.Sprintf("10.%d.0.0/16", i), "")},
			})
		}()
	}
	close(start)
	wg.Wait()
	seen := map[uint32]string{}
	for i, n := range nets {
		if errs[i] != nil {
			t.Fatalf("net%d: %v", i, errs[i])
		}
		if other, ok := seen[n.VNI]; ok {
			t.Errorf("%s and %s have VNI %d", n.Name, other, n.VNI)
		}
		seen[n.VNI] = n.Name
		if n.VNI < cluster.DefaultVNIMin || n.VNI >= cluster.DefaultVNIMin+20 {
			t.Errorf("%s has VNI %d, not one of the first 20 of the range", n.Name, n.VNI)
		}
	}
	vnis, _ := e.keys("vnis/")
	for vni, name := range seen {
		if got := vnis[fmt.Sprintf("%svnis/%d", prefix, vni)]; got != name {
			t.Errorf("VNI %d's key says %q, want %q", vni, got, name)
		}
	}
	if len(vnis) != n {
		t.Errorf("%d VNI keys, want %d: %v", len(vnis), n, vnis)
	}
	all, err := clients[0].Networks(context.Background())
	if err != nil || len(all) != n {
		t.Errorf("Networks: %d, %v; want %d", len(all), err, n)
	}
}

func TestCreateNetworkOverlap(t *testing.T) {
	e := newEnv(t)
	c := e.open(cluster.Config{})
	mustCreate(t, c, "a", subnet("10.1.0.0/16", "10.1.0.1"), subnet("fd00:1::/64", ""))
	before, rev := e.keys("")
	for _, s := range []string{"10.1.2.0/24", "10.0.0.0/8", "fd00:1::/80"} {
		_, err := c.CreateNetwork(context.Background(), cluster.Network{
			Name:    "b",
			Subnets: []cluster.Subnet{subnet("192.168.0.0/24", ""), subnet(s, "")},
		})
		wantErr(t, err, cluster.ErrSubnetOverlap, "network a", s)
	}
	// Two subnets of the network itself.
	_, err := c.CreateNetwork(context.Background(), cluster.Network{
		Name:    "c",
		Subnets: []cluster.Subnet{subnet("192.168.0.0/24", ""), subnet("192.168.0.128/25", "")},
	})
	wantErr(t, err, cluster.ErrSubnetOverlap, "192.168.0.128/25")
	e.unchanged(rev)
	if after, _ := e.keys(""); len(after) != len(before) {
		t.Errorf("keys %v, want %v", after, before)
	}
	// Next to it is fine.
	mustCreate(t, c, "b", subnet("10.2.0.0/16", ""))
}

func TestCreateNetworkOverlapConcurrent(t *testing.T) {
	e := newEnv(t)
	const n = 10
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{}) // all at once
	for i := range n {
		c := e.open(cluster.Config{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// VNIs of their own, for no VNI to be contended.
			_, errs[i] = c.CreateNetwork(context.Background(), cluster.Network{
				Name:    fmt.Sprintf("net%d", i),
				VNI:     uint32(100 + i),
				Subnets: []cluster.Subnet{subnet(fmt.Sprintf("10.0.%d.0/24", i), ""), subnet("10.1.0.0/16", "")},
			})
		}()
	}
	close(start)
	wg.Wait()
	created := 0
	for i, err := range errs {
		if err == nil {
			created++
		} else if !errors.Is(err, cluster.ErrSubnetOverlap) {
			t.Errorf("net%d: %v", i, err)
		}
	}
	if created != 1 {
		t.Errorf("%d networks with subnet 10.1.0.0/16 created, want 1", created)
	}
	if keys, _ := e.keys(""); len(keys) != 2 {
		t.Errorf("keys %v, want one network and its VNI", keys)
	}
}

func TestCreateNetworkAgain(t *testing.T) {
	e := newEnv(t)
	c := e.open(cluster.Config{})
	spec := cluster.Network{Name: "a", ID: "id-a", Subnets: []cluster.Subnet{subnet("10.1.0.0/24", "10.1.0.1")}, Options: map[string]string{"mtu": "1450"}}
	first, err := c.CreateNetwork(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	_, rev := e.keys("")
	// Unmasked, it is the same subnet.
	spec.Subnets[0].Prefix = netip.MustParsePrefix("10.1.0.7/24")
	again, err := c.CreateNetwork(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if again.VNI != first.VNI || again.ID != "id-a" || again.Options["mtu"] != "1450" {
		t.Errorf("again: %+v, first: %+v", again, first)
	}
	e.unchanged(rev)
	got, err := c.Network(context.Background(), "a")
	if err != nil || got.VNI != first.VNI || got.Subnets[0] != subnet("10.1.0.0/24", "10.1.0.1") {
		t.Errorf("Network: %+v, %v", got, err)
	}

	spec.Subnets = []cluster.Subnet{subnet("10.9.0.0/24", "")}
	_, err = c.CreateNetwork(context.Background(), spec)
	wantErr(t, err, cluster.ErrNetworkExists, "network a", "10.1.0.0/24")
	_, err = c.CreateNetwork(context.Background(), cluster.Network{Name: "b", VNI: first.VNI})
	wantErr(t, err, cluster.ErrVNIInUse, "network a")
	_, err = c.Network(context.Background(), "b")
	wantErr(t, err, cluster.ErrNetworkNotFound, "b")
	e.unchanged(rev)
}

func TestVNIExhausted(t *testing.T) {
	e := newEnv(t)
	c := e.open(cluster.Config{VNIMin: 100, VNIMax: 101})
	if n := mustCreate(t, c, "a"); n.VNI != 100 {
		t.Errorf("a has VNI %d, want 100", n.VNI)
	}
	if n := mustCreate(t, c, "b"); n.VNI != 101 {
		t.Errorf("b has VNI %d, want 101", n.VNI)
	}
	_, rev := e.keys("")
	_, err := c.CreateNetwork(context.Background(), cluster.Network{Name: "c"})
	wantErr(t, err, cluster.ErrVNIExhausted, "100-101")
	e.unchanged(rev)
	// A network may still ask for a VNI of its own, outside the range.
	if n, err := c.CreateNetwork(context.Background(), cluster.Network{Name: "d", VNI: 7}); err != nil || n.VNI != 7 {
		t.Errorf("d: %+v, %v", n, err)
	}
	if err := c.DeleteNetwork(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if n := mustCreate(t, c, "c"); n.VNI != 100 {
		t.Errorf("c has VNI %d, want 100, freed by a", n.VNI)
	}
}

func TestAttachConcurrent(t *testing.T) {
	e := newEnv(t)
	const hosts, perHost = 3, 10
	mustCreate(t, e.open(cluster.Config{}), "n", subnet("10.0.0.0/24", "10.0.0.1"))
	var (
		wg    sync.WaitGroup
		start = make(chan struct{}) // all at once
		mu    sync.Mutex
		got   = map[netip.Addr]string{}
		errs  []error
	)
	for h := range hosts {
		c := e.open(cluster.Config{})
		host := fmt.Sprintf("host%d", h)
		lease := mustRegister(t, c, host)
		for i := range perHost {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ep, err := c.Attach(context.Background(), endpoint("n", host, fmt.Sprintf("c%d/eth0", i)), lease)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				if len(ep.Addresses) != 1 {
					errs = append(errs, fmt.Errorf("%s got %v", ep.Key, ep.Addresses))
					return
				}
				a := ep.Addresses[0]
				if other, ok := got[a.Addr()]; ok {
					errs = append(errs, fmt.Errorf("%s and %s both got %s", other, host+"/"+ep.Key, a))
				}
				got[a.Addr()] = host + "/" + ep.Key
			}()
		}
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(got) != hosts*perHost {
		t.Fatalf("%d distinct addresses, want %d", len(got), hosts*perHost)
	}
	// The first free ones, the network address and the gateway skipped.
	for i := 2; i < 2+hosts*perHost; i++ {
		if a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}); got[a] == "" {
			t.Errorf("%s not given", a)
		}
	}
	addrs, _ := e.keys("addresses/n/")
	if len(addrs) != hosts*perHost {
		t.Errorf("%d address keys, want %d", len(addrs), hosts*perHost)
	}
	for a, owner := range got {
		if v := addrs[prefix+"addresses/n/"+a.String()]; v != prefix+"endpoints/n/"+owner {
			t.Errorf("%s is held by %q, want %q", a, v, prefix+"endpoints/n/"+owner)
		}
	}
	eps, _, err := e.open(cluster.Config{}).Endpoints(context.Background(), "n")
	if err != nil || len(eps) != hosts*perHost {
		t.Errorf("Endpoints: %d, %v", len(eps), err)
	}
}

func TestAttachAddresses(t *testing.T) {
	e := newEnv(t)
	c := e.open(cluster.Config{})
	lease := mustRegister(t, c, "h")
	mustCreate(t, c, "n", subnet("10.0.0.0/24", "10.0.0.1"), subnet("fd00::/64", "fd00::1"))

	ep := mustAttach(t, c, endpoint("n", "h", "auto"), lease)
	if fmt.Sprint(ep.Addresses) != "[10.0.0.2/24 fd00::2/64]" {
		t.Errorf("auto got %v", ep.Addresses)
	}
	// Attaching it again gives what it has.
	if again := mustAttach(t, c, endpoint("n", "h", "auto"), lease); fmt.Sprint(again.Addresses) != fmt.Sprint(ep.Addresses) {
		t.Errorf("again got %v", again.Addresses)
	}
	ep = mustAttach(t, c, endpoint("n", "h", "static", "10.0.0.10/32", "fd00::10/128"), lease)
	if fmt.Sprint(ep.Addresses) != "[10.0.0.10/24 fd00::10/64]" {
		t.Errorf("static got %v", ep.Addresses)
	}
	_, rev := e.keys("")
	_, err := c.Attach(context.Background(), endpoint("n", "h", "taken", "fd00::10/64"), lease)
	wantErr(t, err, cluster.ErrAddressInUse, "fd00::10")
	for _, a := range []string{"10.0.1.1/24", "10.0.0.1/24", "10.0.0.0/24", "10.0.0.255/24", "fd00::/64"} {
		if _, err := c.Attach(context.Background(), endpoint("n", "h", "bad", a), lease); err == nil {
			t.Errorf("%s given", a)
		}
	}
	_, err = c.Attach(context.Background(), endpoint("nope", "h", "x"), lease)
	wantErr(t, err, cluster.ErrNetworkNotFound, "nope")
	e.unchanged(rev)
}

func TestAddressesExhausted(t *testing.T) {
	e := newEnv(t)
	c := e.open(cluster.Config{})
	lease := mustRegister(t, c, "h")
	// .0 is the network, .1 the gateway, .7 the broadcast address.
	mustCreate(t, c, "n", subnet("10.0.0.0/29", "10.0.0.1"), subnet("fd00::/64", ""))
	for i := 2; i <= 6; i++ {
		ep := mustAttach(t, c, endpoint("n", "h", fmt.Sprint(i)), lease)
		if want := fmt.Sprintf("10.0.0.%d/29", i); ep.Addresses[0].String() != want {
			t.Errorf("got %s, want %s", ep.Addresses[0], want)
		}
	}
	before, rev := e.keys("")
	_, err := c.Attach(context.Background(), endpoint("n", "h", "last"), lease)
	wantErr(t, err, cluster.ErrAddressesExhausted, "10.0.0.0/29", "network n")
	// Not even the free IPv6 address was taken.
	e.unchanged(rev)
	if after, _ := e.keys(""); len(after) != len(before) {
		t.Errorf("keys %v, want %v", after, before)
	}
}

func TestDetach(t *testing.T) {
	e := newEnv(t)
	c := e.open(cluster.Config{})
	lease := mustRegister(t, c, "h")
	mustCreate(t, c, "n", subnet("10.0.0.0/24", ""), subnet("fd00::/64", ""))
	first := mustAttach(t, c, endpoint("n", "h", "a"), lease)
	mustAttach(t, c, endpoint("n", "h", "b"), lease)
	_, rev := e.keys("")
	if err := c.Detach(context.Background(), "n", "h", "a"); err != nil {
		t.Fatal(err)
	}
	keys, now := e.keys("")
	if now != rev+1 {
		t.Errorf("detach took %d revisions, want one transaction", now-rev)
	}
	for k := range keys {
		if strings.HasSuffix(k, "/a") || strings.HasSuffix(k, "/10.0.0.1") || strings.HasSuffix(k, "/fd00::1") {
			t.Errorf("%s is left", k)
		}
	}
	if err := c.Detach(context.Background(), "n", "h", "a"); err != nil {
		t.Errorf("detach again: %v", err)
	}
	e.unchanged(now)
	if again := mustAttach(t, c, endpoint("n", "h", "c"), lease); fmt.Sprint(again.Addresses) != fmt.Sprint(first.Addresses) {
		t.Errorf("got %v, want the freed %v", again.Addresses, first.Addresses)
	}
}

func TestDeleteNetwork(t *testing.T) {
	e := newEnv(t)
	c := e.open(cluster.Config{})
	lease := mustRegister(t, c, "h")
	mustCreate(t, c, "n", subnet("10.0.0.0/24", ""))
	mustCreate(t, c, "n2", subnet("10.0.1.0/24", ""))
	mustAttach(t, c, endpoint("n", "h", "a"), lease)
	mustAttach(t, c, endpoint("n", "h", "b"), lease)
	err := c.DeleteNetwork(context.Background(), "n")
	wantErr(t, err, cluster.ErrNetworkInUse, "2 endpoints")
	for _, k := range []string{"a", "b"} {
		if err := c.Detach(context.Background(), "n", "h", k); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DeleteNetwork(context.Background(), "n"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteNetwork(context.Background(), "n"); err != nil {
		t.Errorf("delete again: %v", err)
	}
	keys, _ := e.keys("")
	want := map[string]bool{prefix + "hosts/h": true, prefix + "networks/n2": true, fmt.Sprintf("%svnis/%d", prefix, cluster.DefaultVNIMin+1): true}
	if len(keys) != len(want) {
		t.Errorf("keys %v, want those of n2 and h", keys)
	}
	for k := range keys {
		if !want[k] {
			t.Errorf("%s is left", k)
		}
	}
}

func TestHostLease(t *testing.T) {
	e := newEnv(t)
	a := e.open(cluster.Config{})
	b := e.open(cluster.Config{})
	mustCreate(t, a, "n", subnet("10.0.0.0/24", ""))
	_, err := a.HostLease(context.Background(), "a")
	wantErr(t, err, cluster.ErrNoAgent, "host a", "start the demo agent")

	// A short TTL, for KeepAlive to check the lease every 2/3 s.
	leaseA, err := a.RegisterHost(context.Background(), "a", netip.MustParseAddr("192.0.2.1"), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if again := mustRegister(t, a, "a"); again != leaseA {
		t.Errorf("registered again with lease %x, want %x kept", again, leaseA)
	}
	if got, err := b.HostLease(context.Background(), "a"); err != nil || got != leaseA {
		t.Errorf("HostLease: %x, %v; want %x", got, err, leaseA)
	}
	leaseB := mustRegister(t, b, "b")
	mustAttach(t, a, endpoint("n", "a", "x"), leaseA)
	mustAttach(t, b, endpoint("n", "b", "y"), leaseB)

	kept := make(chan error)
	go func() { kept <- a.KeepAlive(context.Background(), leaseA) }()
	// Host a dies: its lease goes, as if it had expired.
	if _, err := e.raw.Revoke(context.Background(), leaseA); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-kept:
		wantErr(t, err, cluster.ErrLeaseLost)
	case <-time.After(5 * time.Second):
		t.Error("KeepAlive goes on after the lease is revoked")
	}
	keys, _ := e.keys("")
	for k := range keys {
		if strings.Contains(k, "/a/") || strings.HasSuffix(k, "/a") || strings.HasSuffix(k, "/10.0.0.1") {
			t.Errorf("%s is left after host a's lease is gone", k)
		}
	}
	if len(keys) != 5 { // network, VNI, host b, its endpoint and address
		t.Errorf("keys %v", keys)
	}
	_, err = b.HostLease(context.Background(), "a")
	wantErr(t, err, cluster.ErrNoAgent, "host a")

	ctx, cancel := context.WithCancel(context.Background())
	go func() { kept <- b.KeepAlive(ctx, leaseB) }()
	cancel()
	if err := <-kept; !errors.Is(err, context.Canceled) {
		t.Errorf("KeepAlive: %v, want it canceled", err)
	}
}

func TestWatch(t *testing.T) {
	e := newEnv(t)
	c := e.open(cluster.Config{})
	la := mustRegister(t, c, "a")
	lb := mustRegister(t, c, "b")
	mustCreate(t, c, "n", subnet("10.0.0.0/24", ""))
	mustCreate(t, c, "m", subnet("10.0.1.0/24", ""))
	old := mustAttach(t, c, endpoint("n", "a", "old/eth0"), la)
	eps, rev, err := c.AllEndpoints(context.Background())
	if err != nil || len(eps) != 1 || eps[0].Key != old.Key {
		t.Fatalf("AllEndpoints: %v, %v", eps, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := c.Watch(ctx, rev)

	x := mustAttach(t, c, endpoint("n", "a", "x/eth0"), la)
	y := mustAttach(t, c, endpoint("m", "b", "y/eth1"), lb)
	if err := c.Detach(context.Background(), "n", "a", "x/eth0"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.raw.Revoke(context.Background(), lb); err != nil {
		t.Fatal(err)
	}
	want := []cluster.Event{
		{Type: cluster.Attached, Endpoint: x},
		{Type: cluster.Attached, Endpoint: y},
		{Type: cluster.Detached, Endpoint: cluster.Endpoint{Network: "n", Host: "a", Key: "x/eth0"}},
		{Type: cluster.Detached, Endpoint: cluster.Endpoint{Network: "m", Host: "b", Key: "y/eth1"}},
	}
	last := rev
	for i, w := range want {
		select {
		case ev := <-events:
			if ev.Err != nil {
				t.Fatal(ev.Err)
			}
			if ev.Revision <= last {
				t.Errorf("event %d at revision %d, not after %d", i, ev.Revision, last)
			}
			last = ev.Revision
			ev.Revision = 0
			if fmt.Sprint(ev) != fmt.Sprint(w) {
				t.Errorf("event %d:\n%+v, want\n%+v", i, ev, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event %d", i)
		}
	}
	cancel()
	for ev := range events {
		t.Errorf("event after cancel: %+v", ev)
	}
}
