package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Host is a host of the cluster, as its agent registered it.
type Host struct {
	Name string `json:"name"`
	// VTEP is the host's underlay address.
	VTEP netip.Addr `json:"vtep"`
	// Lease is the lease of the host's keys, which its agent keeps alive.
	Lease clientv3.LeaseID `json:"lease"`
}

// RegisterHost records the host name with its VTEP and returns its lease,
// for the host's agent to keep alive with KeepAlive. If the host has a
// lease still alive, of an agent that restarted, it is kept with its TTL,
// so that the host's endpoints stay; else a lease of ttl is granted.
func (c *Cluster) RegisterHost(ctx context.Context, name string, vtep netip.Addr, ttl time.Duration) (clientv3.LeaseID, error) {
	if err := checkName("host", name); err != nil {
		return 0, err
	}
	if !vtep.IsValid() {
		return 0, fmt.Errorf("register host %s: no VTEP address", name)
	}
	if ttl < time.Second {
		return 0, fmt.Errorf("register host %s: lease TTL %s is under a second", name, ttl)
	}
	key := c.key("hosts", name)
	resp, err := c.client.Get(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("register host %s: %w", name, err)
	}
	var lease clientv3.LeaseID
	if len(resp.Kvs) > 0 {
		// Its key exists, so its lease is alive.
		lease = clientv3.LeaseID(resp.Kvs[0].Lease)
	} else {
		grant, err := c.client.Grant(ctx, int64(math.Ceil(ttl.Seconds())))
		if err != nil {
			return 0, fmt.Errorf("register host %s: grant a lease: %w", name, err)
		}
		lease = grant.ID
	}
	value, err := json.Marshal(Host{Name: name, VTEP: vtep, Lease: lease})
	if err != nil {
		return 0, err
	}
	if _, err := c.client.Put(ctx, key, string(value), clientv3.WithLease(lease)); err != nil {
		return 0, fmt.Errorf("register host %s: %w", name, err)
	}
	return lease, nil
}

// HostLease returns the lease of the host name, for Attach. A host without
// an agent has none.
func (c *Cluster) HostLease(ctx context.Context, name string) (clientv3.LeaseID, error) {
	if err := checkName("host", name); err != nil {
		return 0, err
	}
	resp, err := c.client.Get(ctx, c.key("hosts", name))
	if err != nil {
		return 0, fmt.Errorf("read host %s: %w", name, err)
	}
	if len(resp.Kvs) == 0 {
		return 0, fmt.Errorf("%w for host %s: start the demo agent on this host", ErrNoAgent, name)
	}
	h, err := decode[Host](resp.Kvs[0])
	return h.Lease, err
}

// KeepAlive keeps lease alive until ctx ends, and then returns ctx's
// error. If the lease is lost first, because it expired while etcd was
// out of reach or was revoked, it returns an error wrapping ErrLeaseLost:
// the host's endpoints are gone, and the agent must register the host
// again and attach its endpoints again.
func (c *Cluster) KeepAlive(ctx context.Context, lease clientv3.LeaseID) error {
	ch, err := c.client.KeepAlive(ctx, lease)
	if err != nil {
		return fmt.Errorf("keep lease %x alive: %w", int64(lease), err)
	}
	for range ch {
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("lease %x: %w", int64(lease), ErrLeaseLost)
}
