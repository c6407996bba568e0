package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Reserved is the value of an address key that Reserve wrote: an address
// that an address manager (Docker's IPAM, in a swarm) gave out before any
// endpoint holds it, and that only Release frees.
const Reserved = "reserved"

// Reserve takes an address of the network whose subnet is pool, for an
// endpoint that Attach records later with Endpoint.Reserved: want if it is
// valid (it must be free), else the first free address of the subnet. The
// address is written with no lease: it stays taken, whatever happens to
// the hosts, until Release frees it or the network is deleted. It returns
// the address with the subnet's prefix length.
func (c *Cluster) Reserve(ctx context.Context, pool netip.Prefix, want netip.Addr) (netip.Prefix, error) {
	for range attempts {
		n, rev, err := c.networkOf(ctx, pool)
		if err != nil {
			return netip.Prefix{}, err
		}
		prefix := c.key("addresses", n.Name) + "/"
		resp, err := c.client.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("reserve an address of %s: %w", pool, err)
		}
		used, err := usedAddresses(prefix, resp.Kvs)
		if err != nil {
			return netip.Prefix{}, err
		}
		var requested []netip.Prefix
		if want.IsValid() {
			requested = []netip.Prefix{netip.PrefixFrom(want, pool.Bits())}
		}
		picked, err := pick(Network{Name: n.Name, Subnets: n.Subnets[subnetIndex(n, pool):][:1]}, used, requested)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("reserve an address of %s in network %s: %w", pool, n.Name, err)
		}
		key := prefix + picked[0].Addr().String()
		txn, err := c.client.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(c.key("networks", n.Name)), "=", rev),
			clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
		).Then(clientv3.OpPut(key, Reserved)).Commit()
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("reserve %s: %w", key, err)
		}
		if txn.Succeeded {
			return picked[0], nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("reserve an address of %s: %w", pool, ErrContention)
}

// Release frees an address that Reserve took. An address that is not
// reserved, free or an endpoint's own, is left as it is, and so is one of
// a network that is gone: deleting it freed its addresses.
func (c *Cluster) Release(ctx context.Context, pool netip.Prefix, addr netip.Addr) error {
	n, _, err := c.networkOf(ctx, pool)
	if errors.Is(err, ErrNetworkNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	key := c.key("addresses", n.Name, addr.String())
	_, err = c.client.Txn(ctx).If(
		clientv3.Compare(clientv3.Value(key), "=", Reserved),
	).Then(clientv3.OpDelete(key)).Commit()
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	return nil
}

// networkOf returns the network that has subnet pool, and the revision it
// was last changed at. Subnets of two networks never overlap, so there is
// one at most.
func (c *Cluster) networkOf(ctx context.Context, pool netip.Prefix) (Network, int64, error) {
	resp, err := c.client.Get(ctx, c.key("networks")+"/", clientv3.WithPrefix())
	if err != nil {
		return Network{}, 0, fmt.Errorf("read networks: %w", err)
	}
	for _, kv := range resp.Kvs {
		n, err := decode[Network](kv)
		if err != nil {
			return Network{}, 0, err
		}
		if subnetIndex(n, pool) >= 0 {
			return n, kv.ModRevision, nil
		}
	}
	return Network{}, 0, fmt.Errorf("%w: no network has subnet %s", ErrNetworkNotFound, pool)
}

// subnetIndex returns the index of n's subnet pool, or -1.
func subnetIndex(n Network, pool netip.Prefix) int {
	return slices.IndexFunc(n.Subnets, func(s Subnet) bool { return s.Prefix == pool.Masked() })
}
