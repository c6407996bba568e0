package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/demo/internal/agentapi"
	"example.com/demo/internal/cluster"
	"example.com/demo/internal/etcdtest"
)

// TestServe runs an agent against a real etcd and calls it as the plugin
// does: its socket is root's alone; create, attach, get and detach
// answer; the cluster's refusals reach the plugin with their message; and
// the socket goes with the agent.
func TestServe(t *testing.T) {
	srv := etcdtest.Start(t, "127.0.0.1")
	ctx, stop := context.WithCancel(context.Background())
	c, err := cluster.Open(ctx, cluster.Config{Endpoints: srv.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	socket := filepath.Join(t.TempDir(), "agent.sock")
	a := &Agent{Cluster: c, Host: "h1", VTEP: netip.MustParseAddr("192.0.2.11"), LockDir: t.TempDir(), Socket: socket,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if _, err := os.Lstat(socket); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket left after the agent stopped: %v", err)
		}
	}()
	var fi os.FileInfo
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if fi, err = os.Lstat(socket); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("the agent serves no socket: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}

	api := agentapi.NewClient(socket)
	defer api.Close()
	subnet := agentapi.Subnet{Prefix: netip.MustParsePrefix("10.50.0.0/24"), Gateway: netip.MustParseAddr("10.50.0.1")}
	n, err := api.CreateNetwork(ctx, agentapi.Network{Name: "n1", Subnets: []agentapi.Subnet{subnet}})
	if err != nil || n.VNI == 0 {
		t.Fatalf("create: %+v, %v", n, err)
	}
	if _, err := api.CreateNetwork(ctx, agentapi.Network{Name: "n2", Subnets: []agentapi.Subnet{subnet}}); err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Errorf("create of an overlapping network: %v, want the cluster's refusal", err)
	}
	res, err := api.Attach(ctx, agentapi.AttachRequest{Network: "n1", Key: "c1-eth0", MAC: "02:00:00:00:00:01"})
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	if ep := res.Endpoint; ep.Host != "h1" || ep.VTEP != a.VTEP || len(ep.Addresses) != 1 || ep.Addresses[0].String() != "10.50.0.2/24" {
		t.Errorf("attached %+v, want h1's endpoint at 192.0.2.11 with 10.50.0.2/24", ep)
	}
	if len(res.Endpoints) != 1 || res.Endpoints[0].Key != "c1-eth0" {
		t.Errorf("the network's endpoints %+v, want the one attached", res.Endpoints)
	}
	if ep, found, err := api.Endpoint(ctx, "n1", "c1-eth0"); err != nil || !found || ep.MAC != "02:00:00:00:00:01" {
		t.Errorf("get: %+v, %t, %v", ep, found, err)
	}
	for range 2 {
		if err := api.Detach(ctx, "n1", "c1-eth0"); err != nil {
			t.Errorf("detach: %v", err)
		}
	}
	if _, found, err := api.Endpoint(ctx, "n1", "c1-eth0"); err != nil || found {
		t.Errorf("get after detach: %t, %v", found, err)
	}

	none := agentapi.NewClient(filepath.Join(t.TempDir(), "none.sock"))
	defer none.Close()
	if _, err := none.Attach(ctx, agentapi.AttachRequest{Network: "n1", Key: "c2-eth0"}); !errors.Is(err, agentapi.ErrNoAgent) ||
		!strings.Contains(err.Error(), "start demo-agent") {
		t.Errorf("a call without an agent: %v", err)
	}
}
