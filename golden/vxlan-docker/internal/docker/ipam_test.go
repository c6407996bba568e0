package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/demo/internal/agent"
	"example.com/demo/internal/agentapi"
	"example.com/demo/internal/cluster"
	"example.com/demo/internal/config"
	"example.com/demo/internal/etcdtest"
)

// globalServer returns the server of a Plugin whose agent, this test's,
// runs against a real etcd, and the cluster as the agent has it.
func globalServer(t *testing.T) (*Server, *cluster.Cluster) {
	t.Helper()
	srv := etcdtest.Start(t, "127.0.0.1")
	ctx, stop := context.WithCancel(context.Background())
	c, err := cluster.Open(ctx, cluster.Config{Endpoints: srv.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(t.TempDir(), "agent.sock")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := &agent.Agent{Cluster: c, Host: "h1", VTEP: netip.MustParseAddr("192.0.2.11"), LockDir: t.TempDir(), Socket: socket, Log: log}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		<-done
		c.Close()
	})
	p := NewPlugin(config.Config{AgentSocket: socket, LockDir: t.TempDir()}, log)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := p.agent.Network(ctx, "none"); err == nil || !strings.Contains(err.Error(), "no agent") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent serves no socket after 10s")
		}
	}
	return NewGlobalServer(p, log), c
}

// engineCall posts body to path on srv and decodes the answer into res; it
// returns the error the engine would get.
func engineCall(t *testing.T, srv *Server, path, body string, res any) error {
	t.Helper()
	code, answer := serve(t, srv, post(path, body))
	if code != 200 {
		var e ErrorResponse
		if err := json.Unmarshal([]byte(answer), &e); err != nil {
			t.Fatalf("%s: status %d with %q", path, code, answer)
		}
		return fmt.Errorf("%d: %s", code, e.Err)
	}
	if res != nil {
		if err := json.Unmarshal([]byte(answer), res); err != nil {
			t.Fatalf("%s: %q: %v", path, answer, err)
		}
	}
	return nil
}

func mustCall(t *testing.T, srv *Server, path, body string, res any) {
	t.Helper()
	if err := engineCall(t, srv, path, body, res); err != nil {
		t.Fatalf("%s %s: %v", path, body, err)
	}
}

// TestSwarmCalls makes the calls of a swarm's manager and of a host, in
// their order, as the engine's JSON: the manager's pool, gateway, network
// and 20 concurrent addresses, all distinct and reserved in etcd; a host's
// pool and address by value, and its endpoint; then the release of them
// all, which leaves nothing in etcd.
func TestSwarmCalls(t *testing.T) {
	srv, c := globalServer(t)
	ctx := context.Background()

	var act ActivateResponse
	mustCall(t, srv, "/Plugin.Activate", "", &act)
	if strings.Join(act.Implements, ",") != "NetworkDriver,IpamDriver" {
		t.Errorf("Implements %v", act.Implements)
	}
	var caps CapabilitiesResponse
	mustCall(t, srv, "/NetworkDriver.GetCapabilities", "", &caps)
	if caps.Scope != ScopeGlobal || caps.ConnectivityScope != ScopeGlobal {
		t.Errorf("capabilities %+v, want global", caps)
	}
	var spaces AddressSpacesResponse
	mustCall(t, srv, "/IpamDriver.GetDefaultAddressSpaces", "", &spaces)

	// The manager.
	var pool RequestPoolResponse
	mustCall(t, srv, "/IpamDriver.RequestPool", `{"AddressSpace":"`+spaces.GlobalDefaultAddressSpace+`","Pool":"10.5.0.0/24","SubPool":"","Options":{},"V6":false}`, &pool)
	if pool.Pool != "10.5.0.0/24" {
		t.Errorf("pool %+v", pool)
	}
	var gw AddressResponse
	mustCall(t, srv, "/IpamDriver.RequestAddress", `{"PoolID":"`+pool.PoolID+`","Address":"","Options":{"RequestAddressType":"com.docker.network.gateway"}}`, &gw)
	if gw.Address != "10.5.0.1/24" {
		t.Errorf("gateway %q, want 10.5.0.1/24", gw.Address)
	}
	var alloc AllocateNetworkResponse
	mustCall(t, srv, "/NetworkDriver.AllocateNetwork", `{"NetworkID":"netid1","Options":{"com.docker.network.enable_ipv6":"false","mtu":"1400"},"IPv4Data":[{"AddressSpace":"`+spaces.GlobalDefaultAddressSpace+`","Pool":"10.5.0.0/24","Gateway":"10.5.0.1/24"}],"IPv6Data":[]}`, &alloc)
	n, err := c.Network(ctx, "netid1")
	if err != nil {
		t.Fatal(err)
	}
	if alloc.Options[agentapi.OptVNI] != fmt.Sprint(n.VNI) || n.Options["mtu"] != "1400" || n.Subnets[0].Gateway != netip.MustParseAddr("10.5.0.1") {
		t.Errorf("allocated %+v, recorded %+v", alloc, n)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		addrs = map[string]bool{}
	)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var a AddressResponse
			if err := engineCall(t, srv, "/IpamDriver.RequestAddress", `{"PoolID":"`+pool.PoolID+`","Address":"","Options":{}}`, &a); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if addrs[a.Address] {
				t.Errorf("address %s given twice", a.Address)
			}
			addrs[a.Address] = true
		}()
	}
	wg.Wait()
	if addrs["10.5.0.1/24"] || len(addrs) != 20 {
		t.Errorf("addresses %v: want 20, not the gateway", addrs)
	}
	err = engineCall(t, srv, "/IpamDriver.RequestAddress", `{"PoolID":"`+pool.PoolID+`","Address":"10.5.0.2","Options":{}}`, nil)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("an address given twice: %v", err)
	}

	// A host: its pool, the address by value, and the endpoint.
	var local RequestPoolResponse
	mustCall(t, srv, "/IpamDriver.RequestPool", `{"AddressSpace":"`+spaces.LocalDefaultAddressSpace+`","Pool":"10.5.0.0/24","Options":{},"V6":false}`, &local)
	var byValue AddressResponse
	mustCall(t, srv, "/IpamDriver.RequestAddress", `{"PoolID":"`+local.PoolID+`","Address":"10.5.0.2","Options":{}}`, &byValue)
	if byValue.Address != "10.5.0.2/24" {
		t.Errorf("host's address %q, want 10.5.0.2/24", byValue.Address)
	}
	if err := engineCall(t, srv, "/IpamDriver.RequestAddress", `{"PoolID":"`+local.PoolID+`","Address":"","Options":{}}`, nil); err == nil {
		t.Error("a host's address not by value: no error")
	}
	mustCall(t, srv, "/NetworkDriver.CreateNetwork", `{"NetworkID":"netid1","Options":{"com.docker.network.generic":{"vni":"`+alloc.Options[agentapi.OptVNI]+`"}},"IPv4Data":[],"IPv6Data":[]}`, nil)
	var ep CreateEndpointResponse
	mustCall(t, srv, "/NetworkDriver.CreateEndpoint", `{"NetworkID":"netid1","EndpointID":"ep1","Interface":{"Address":"10.5.0.2/24","AddressIPv6":"","MacAddress":""},"Options":{}}`, &ep)
	if ep.Interface == nil || ep.Interface.MacAddress == "" {
		t.Errorf("CreateEndpoint answered %+v, want a MAC", ep)
	}
	if got, found, err := c.Endpoint(ctx, "netid1", "h1", "ep1"); err != nil || !found || !got.Reserved || got.Addresses[0].String() != "10.5.0.2/24" {
		t.Errorf("endpoint in etcd: %+v %v %v", got, found, err)
	}
	if err := engineCall(t, srv, "/NetworkDriver.CreateEndpoint", `{"NetworkID":"netid1","EndpointID":"ep2","Interface":{"Address":"10.5.0.200/24"},"Options":{}}`, nil); err == nil {
		t.Error("an endpoint with an address the manager did not reserve: no error")
	}
	mustCall(t, srv, "/NetworkDriver.DeleteEndpoint", `{"NetworkID":"netid1","EndpointID":"ep1"}`, nil)
	mustCall(t, srv, "/NetworkDriver.DeleteNetwork", `{"NetworkID":"netid1"}`, nil)

	// The manager releases it all.
	for a := range addrs {
		mustCall(t, srv, "/IpamDriver.ReleaseAddress", `{"PoolID":"`+pool.PoolID+`","Address":"`+strings.Split(a, "/")[0]+`"}`, nil)
	}
	mustCall(t, srv, "/IpamDriver.ReleaseAddress", `{"PoolID":"`+pool.PoolID+`","Address":"10.5.0.1"}`, nil)
	mustCall(t, srv, "/NetworkDriver.FreeNetwork", `{"NetworkID":"netid1"}`, nil)
	mustCall(t, srv, "/IpamDriver.ReleasePool", `{"PoolID":"`+pool.PoolID+`"}`, nil)
	mustCall(t, srv, "/IpamDriver.ReleasePool", `{"PoolID":"`+local.PoolID+`"}`, nil)
	if nets, err := c.Networks(ctx); err != nil || len(nets) > 0 {
		t.Errorf("networks left: %v %v", nets, err)
	}
	if eps, _, err := c.AllEndpoints(ctx); err != nil || len(eps) > 0 {
		t.Errorf("endpoints left: %v %v", eps, err)
	}
}

// TestSwarmRefusals: what the driver refuses, with a message that says
// what to do.
func TestSwarmRefusals(t *testing.T) {
	srv, _ := globalServer(t)
	for _, tc := range []struct{ path, body, want string }{
		{"/IpamDriver.RequestPool", `{"AddressSpace":"` + GlobalAddressSpace + `","Pool":"","V6":false}`, "--subnet"},
		{"/IpamDriver.RequestPool", `{"AddressSpace":"other","Pool":"10.6.0.0/24"}`, "unknown address space"},
		{"/IpamDriver.RequestPool", `{"AddressSpace":"` + GlobalAddressSpace + `","Pool":"10.6.0.0/24","SubPool":"10.6.0.0/25"}`, "--ip-range"},
		{"/IpamDriver.RequestAddress", `{"PoolID":"nonsense","Address":""}`, "not one of this driver's"},
		{"/IpamDriver.RequestAddress", `{"PoolID":"` + GlobalAddressSpace + `/10.6.0.0/24","Address":""}`, "no network has subnet 10.6.0.0/24"},
		{"/NetworkDriver.AllocateNetwork", `{"NetworkID":"n","Options":{"bogus":"1"},"IPv4Data":[{"Pool":"10.6.0.0/24","Gateway":"10.6.0.1/24"}]}`, "bogus"},
		{"/NetworkDriver.AllocateNetwork", `{"NetworkID":"n","Options":{"vni":"99999999"},"IPv4Data":[{"Pool":"10.6.0.0/24"}]}`, "invalid vni"},
		{"/NetworkDriver.CreateNetwork", `{"NetworkID":"unknown","Options":{}}`, "create it on a manager"},
		{"/NetworkDriver.ProgramExternalConnectivity", `{"NetworkID":"n","EndpointID":"e","Options":{}}`, "not implemented"},
	} {
		err := engineCall(t, srv, tc.path, tc.body, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want an error that says %q", tc.path, tc.body, err, tc.want)
		}
	}
}
