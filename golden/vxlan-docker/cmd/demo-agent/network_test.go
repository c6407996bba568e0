package main

import (
	"bytes"
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/demo/internal/cluster"
	"example.com/demo/internal/etcdtest"
)

// TestNetworkCommands lists and removes networks of a real etcd: a network
// with an endpoint stays, one without goes, and its VNI and subnet are free
// again.
func TestNetworkCommands(t *testing.T) {
	srv := etcdtest.Start(t, "127.0.0.1")
	ctx := context.Background()
	c, err := cluster.Open(ctx, cluster.Config{Endpoints: srv.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, n := range []cluster.Network{
		{Name: "web", VNI: 100, Subnets: []cluster.Subnet{{Prefix: netip.MustParsePrefix("10.1.0.0/24")}}},
		{Name: "db", VNI: 200, Subnets: []cluster.Subnet{{Prefix: netip.MustParsePrefix("10.2.0.0/24")}}},
	} {
		if _, err := c.CreateNetwork(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	lease, err := c.RegisterHost(ctx, "h1", netip.MustParseAddr("192.0.2.11"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Attach(ctx, cluster.Endpoint{Network: "db", Host: "h1", Key: "c1-eth0", VTEP: netip.MustParseAddr("192.0.2.11")}, lease); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--config", filepath.Join(t.TempDir(), "none.json"), "--etcd-endpoints", strings.Join(srv.Endpoints(), ",")}
	network := func(args ...string) (string, int) {
		var out bytes.Buffer
		status := runNetwork(ctx, append(args[:1:1], append(flags, args[1:]...)...), &out)
		return out.String(), status
	}

	out, status := network("ls")
	want := "NAME  VNI  SUBNETS      ENDPOINTS\ndb    200  10.2.0.0/24  1\nweb   100  10.1.0.0/24  0\n"
	if status != 0 || out != want {
		t.Errorf("network ls: status %d, printed\n%s\nwant\n%s", status, out, want)
	}
	if _, status := network("rm", "db"); status != 1 {
		t.Errorf("network rm of a network with an endpoint: status %d, want 1", status)
	}
	if _, status := network("rm", "web"); status != 0 {
		t.Errorf("network rm web: status %d", status)
	}
	if _, err := c.CreateNetwork(ctx, cluster.Network{Name: "web2", VNI: 100, Subnets: []cluster.Subnet{{Prefix: netip.MustParsePrefix("10.1.0.0/24")}}}); err != nil {
		t.Errorf("VNI and subnet of a removed network are not free: %v", err)
	}
	if _, status := network("ls", "extra"); status != 2 {
		t.Errorf("network ls with an argument: status %d, want 2", status)
	}
}
