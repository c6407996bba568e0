// Package agent is the daemon that runs on every host of the cluster
// (demo-agent): it keeps the host registered in etcd, and the VXLAN
// devices of the host's networks in step with the containers of the other
// hosts.
//
// The plugin, run by netavark for each container, records the container in
// etcd and, when it creates a network's VXLAN device on this host, programs
// it with the other hosts' containers of that moment. From then on the
// agent follows the changes: it watches the cluster's endpoints and adds or
// removes each one on the device of its network, under the lock of the
// network's bridge that the plugin takes too. When it starts, and whenever
// its watch breaks (etcd restarted, lost, or compacted its history), it
// reads every endpoint again and makes each device's entries equal to them
// before it watches on, so that nothing it missed stays wrong.
//
// The agent also answers the plugin's calls (package agentapi) on its unix
// socket, from the moment it has registered the host until it stops: the
// plugin does not reach etcd itself, and the agent records the host's
// endpoints for it, with the host's name, VTEP and lease (server.go).
//
// The host's lease is the agent's: the host's endpoints are written with
// it, and the agent keeps it alive. If the host goes down, its lease
// expires and its endpoints disappear from the cluster, and so from every
// other host's devices.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"example.com/demo/internal/cluster"
	"example.com/demo/internal/config"
	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/overlay"

	"github.com/vishvananda/netlink"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultTTL is the lease of a host: how long after its agent stops (or its
// host goes down) its endpoints stay in the cluster.
const DefaultTTL = 15 * time.Second

// retry is how long the agent waits before it tries etcd again.
const retry = time.Second

// Agent keeps one host's VXLAN devices in step with the cluster.
type Agent struct {
	// Cluster is the connection to etcd.
	Cluster *cluster.Cluster
	// Host and VTEP are this host's name and underlay address.
	Host string
	VTEP netip.Addr
	// TTL is the host's lease; 0 is DefaultTTL.
	TTL time.Duration
	// LockDir holds the bridges' locks, the plugin's (driver.DefaultLockDir).
	LockDir string
	// Log gets what the agent does, and its failures.
	Log *slog.Logger
	// Socket is the unix socket where the agent serves the plugin's
	// calls (agentapi); empty serves none.
	Socket string

	// lease is the host's lease, for the plugin's endpoints; 0 until
	// the host is registered.
	lease atomic.Int64

	// vnis caches the networks' VNIs by name.
	vnis map[string]uint32
	// known holds the endpoints of the other hosts as last read or
	// watched, by id: a watch tells of a detached endpoint only
	// its ID, and its entries are removed by what was known of it.
	known map[string]cluster.Endpoint
}

// Run registers the host and follows the cluster until ctx ends, then
// returns nil. Once the host is registered, it serves the plugin's calls
// on Socket, until it returns. It returns an error only for a
// configuration that cannot work (a socket it cannot serve): etcd out of
// reach, or a lease lost, are retried.
func (a *Agent) Run(ctx context.Context) error {
	ttl := a.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	var srv *server
	defer func() {
		if srv != nil {
			srv.close()
		}
	}()
	for ctx.Err() == nil {
		lease, err := a.Cluster.RegisterHost(ctx, a.Host, a.VTEP, ttl)
		if err != nil {
			a.Log.Warn("register host", "host", a.Host, "err", err)
			sleep(ctx, retry)
			continue
		}
		a.lease.Store(int64(lease))
		a.Log.Info("registered", "host", a.Host, "vtep", a.VTEP, "lease", fmt.Sprintf("%x", int64(lease)))
		if srv == nil && a.Socket != "" {
			if srv, err = a.serve(); err != nil {
				return err
			}
			a.Log.Info("serving", "socket", a.Socket)
		}
		err = a.follow(ctx, lease)
		if ctx.Err() != nil {
			break
		}
		a.Log.Warn("lease lost: the host's endpoints are gone from the cluster; registering again", "err", err)
	}
	return nil
}

// follow keeps lease alive, and the devices in step, until ctx ends or the
// lease is lost.
func (a *Agent) follow(ctx context.Context, lease clientv3.LeaseID) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := make(chan error, 1)
	go func() {
		lost <- a.Cluster.KeepAlive(ctx, lease)
		cancel()
	}()
	for ctx.Err() == nil {
		rev, err := a.Reconcile(ctx)
		if err != nil {
			a.Log.Warn("reconcile", "err", err)
			sleep(ctx, retry)
			continue
		}
		if err := a.watch(ctx, rev); err != nil && ctx.Err() == nil {
			a.Log.Warn("watch broken; reconciling", "err", err)
		}
	}
	cancel()
	return <-lost
}

// Reconcile reads every endpoint of the cluster and makes the entries of
// each VXLAN device of this host equal to its network's endpoints on the
// other hosts. It returns the revision it read at, to watch from.
func (a *Agent) Reconcile(ctx context.Context) (int64, error) {
	networks, err := a.Cluster.Networks(ctx)
	if err != nil {
		return 0, err
	}
	a.vnis = make(map[string]uint32, len(networks))
	for _, n := range networks {
		a.vnis[n.Name] = n.VNI
	}
	eps, rev, err := a.Cluster.AllEndpoints(ctx)
	if err != nil {
		return 0, err
	}
	a.known = make(map[string]cluster.Endpoint, len(eps))
	byNetwork := make(map[string][]cluster.Endpoint)
	for _, ep := range eps {
		if ep.Host != a.Host {
			a.known[id(ep)] = ep
			byNetwork[ep.Network] = append(byNetwork[ep.Network], ep)
		}
	}
	var errs []error
	synced := 0
	for _, n := range networks {
		err := a.locked(n.VNI, func() error { return overlay.Sync(n.VNI, overlay.Peers(byNetwork[n.Name])) })
		if errors.Is(err, errNoDevice) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("network %s: %w", n.Name, err))
			continue
		}
		synced++
	}
	a.Log.Info("reconciled", "networks", len(networks), "here", synced, "endpoints", len(eps), "revision", rev)
	return rev, errors.Join(errs...)
}

// watch applies the changes of the endpoints after rev until the watch
// breaks or ctx ends.
func (a *Agent) watch(ctx context.Context, rev int64) error {
	for ev := range a.Cluster.Watch(ctx, rev) {
		if ev.Err != nil {
			return ev.Err
		}
		if ev.Endpoint.Host == a.Host {
			continue
		}
		if err := a.apply(ctx, ev); err != nil {
			// The device may hold a stale entry: start again from a
			// full read.
			return fmt.Errorf("endpoint %s: %w", id(ev.Endpoint), err)
		}
	}
	return ctx.Err()
}

// apply adds or removes the endpoint of ev on its network's device, if this
// host has it.
func (a *Agent) apply(ctx context.Context, ev cluster.Event) error {
	vni, err := a.vni(ctx, ev.Endpoint.Network)
	if errors.Is(err, cluster.ErrNetworkNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ep, key := ev.Endpoint, id(ev.Endpoint)
	if ev.Type == cluster.Attached {
		a.known[key] = ep
	} else {
		ep = a.known[key]
		delete(a.known, key)
	}
	peers := overlay.Peers([]cluster.Endpoint{ep})
	if len(peers) == 0 {
		return nil
	}
	err = a.locked(vni, func() error {
		if ev.Type == cluster.Attached {
			return overlay.Add(vni, peers[0])
		}
		return overlay.Delete(vni, peers[0])
	})
	if errors.Is(err, errNoDevice) {
		return nil
	}
	a.Log.Debug("applied", "attached", ev.Type == cluster.Attached, "endpoint", id(ev.Endpoint))
	return err
}

// vni returns the VNI of network, from the cache or from etcd.
func (a *Agent) vni(ctx context.Context, network string) (uint32, error) {
	if vni, ok := a.vnis[network]; ok {
		return vni, nil
	}
	n, err := a.Cluster.Network(ctx, network)
	if err != nil {
		return 0, err
	}
	a.vnis[network] = n.VNI
	return n.VNI, nil
}

// errNoDevice is what locked returns when this host has no device of the
// VNI: no container of the network here.
var errNoDevice = errors.New("no VXLAN device")

// locked runs fn with the lock of vni's bridge held, the lock that the
// plugin holds while it creates, programs and removes the devices, if this
// host has the segment's VXLAN device; else it returns errNoDevice. A
// device that the plugin creates after the check is programmed by the
// plugin from a read of etcd later than the change the agent passes over.
func (a *Agent) locked(vni uint32, fn func() error) error {
	if !hasDevice(vni) {
		return errNoDevice
	}
	return dataplane.Locked(a.LockDir, overlay.BridgeName(vni), func(l *dataplane.FileLock) error {
		if !hasDevice(vni) {
			// The plugin removed it, and its bridge, meanwhile.
			l.RemoveOnUnlock()
			return errNoDevice
		}
		return fn()
	})
}

// hasDevice reports whether this host has segment vni's VXLAN device: one
// request for that link, where the net package would list every link.
func hasDevice(vni uint32) bool {
	_, err := netlink.LinkByName(overlay.VXLANName(vni))
	return err == nil
}

// ClusterConfig is how package cluster reaches the etcd of cfg.
func ClusterConfig(cfg config.Config) cluster.Config {
	return cluster.Config{Endpoints: cfg.Etcd.Endpoints, CACert: cfg.Etcd.CACert, Cert: cfg.Etcd.Cert, Key: cfg.Etcd.Key}
}

// id identifies an endpoint in the cluster.
func id(ep cluster.Endpoint) string { return ep.Network + "/" + ep.Host + "/" + ep.Key }

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
