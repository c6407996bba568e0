package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"example.com/demo/internal/agentapi"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Endpoint is a container's interface on a network: what the other hosts
// need to reach it. Its definition is agentapi's, which the plugin shares.
type Endpoint = agentapi.Endpoint

// Attach records the endpoint that spec describes and gives it its
// addresses: those of spec.Addresses, which must be free and in subnets of
// the network (their prefix lengths are the subnets'), or else the first
// free address of each subnet. A subnet's network and broadcast
// addresses, IPv6 subnet-router anycast address and gateway are never
// given. The endpoint and its addresses are written in one transaction,
// with lease, the host's lease from HostLease, so that they disappear with
// the host. If the endpoint exists, it is returned as it is.
func (c *Cluster) Attach(ctx context.Context, spec Endpoint, lease clientv3.LeaseID) (Endpoint, error) {
	if err := checkName("network", spec.Network); err != nil {
		return Endpoint{}, err
	}
	if err := checkName("host", spec.Host); err != nil {
		return Endpoint{}, err
	}
	if spec.Key == "" {
		return Endpoint{}, errors.New("endpoint key is empty")
	}
	if !spec.VTEP.IsValid() {
		return Endpoint{}, fmt.Errorf("endpoint %s: no VTEP address", spec.Key)
	}
	netKey := c.key("networks", spec.Network)
	key := c.key("endpoints", spec.Network, spec.Host, spec.Key)
	addrs := c.key("addresses", spec.Network) + "/"
	for range attempts {
		read, err := c.client.Txn(ctx).Then(
			clientv3.OpGet(netKey),
			clientv3.OpGet(key),
			clientv3.OpGet(addrs, clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		).Commit()
		if err != nil {
			return Endpoint{}, fmt.Errorf("attach %s: %w", key, err)
		}
		netKVs := read.Responses[0].GetResponseRange().Kvs
		if len(netKVs) == 0 {
			return Endpoint{}, fmt.Errorf("attach %s to network %s: %w", spec.Key, spec.Network, ErrNetworkNotFound)
		}
		if kvs := read.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 {
			return decode[Endpoint](kvs[0])
		}
		n, err := decode[Network](netKVs[0])
		if err != nil {
			return Endpoint{}, err
		}
		used, err := usedAddresses(addrs, read.Responses[2].GetResponseRange().Kvs)
		if err != nil {
			return Endpoint{}, err
		}
		ep := spec
		if ep.Addresses, err = pick(n, used, spec.Addresses); err != nil {
			return Endpoint{}, fmt.Errorf("attach %s to network %s: %w", spec.Key, spec.Network, err)
		}
		value, err := json.Marshal(ep)
		if err != nil {
			return Endpoint{}, err
		}
		// The network must be the one read, and the endpoint and its
		// addresses still free.
		cmps := []clientv3.Cmp{
			clientv3.Compare(clientv3.ModRevision(netKey), "=", netKVs[0].ModRevision),
			clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
		}
		ops := []clientv3.Op{clientv3.OpPut(key, string(value), clientv3.WithLease(lease))}
		for _, p := range ep.Addresses {
			a := addrs + p.Addr().String()
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(a), "=", 0))
			ops = append(ops, clientv3.OpPut(a, key, clientv3.WithLease(lease)))
		}
		resp, err := c.client.Txn(ctx).If(cmps...).Then(ops...).Commit()
		if err != nil {
			return Endpoint{}, fmt.Errorf("attach %s: %w", key, err)
		}
		if resp.Succeeded {
			return ep, nil
		}
	}
	return Endpoint{}, fmt.Errorf("attach %s to network %s: %w", spec.Key, spec.Network, ErrContention)
}

// usedAddresses returns the addresses of address keys, which are under
// prefix.
func usedAddresses(prefix string, kvs []*mvccpb.KeyValue) (map[netip.Addr]bool, error) {
	used := map[netip.Addr]bool{}
	for _, kv := range kvs {
		a, err := netip.ParseAddr(strings.TrimPrefix(string(kv.Key), prefix))
		if err != nil {
			return nil, fmt.Errorf("key %s: not an address", kv.Key)
		}
		used[a] = true
	}
	return used, nil
}

// pick returns the addresses for an endpoint of n: those requested, or
// the first free address of each subnet.
func pick(n Network, used map[netip.Addr]bool, requested []netip.Prefix) ([]netip.Prefix, error) {
	var out []netip.Prefix
	if len(requested) > 0 {
		for _, r := range requested {
			a := r.Addr()
			i := indexOf(n.Subnets, a)
			if i < 0 {
				return nil, fmt.Errorf("address %s is in no subnet of network %s", a, n.Name)
			}
			s := n.Subnets[i]
			if reserved(s, a) {
				return nil, fmt.Errorf("address %s is reserved in subnet %s", a, s.Prefix)
			}
			if used[a] {
				return nil, fmt.Errorf("%w: %s", ErrAddressInUse, a)
			}
			used[a] = true
			out = append(out, netip.PrefixFrom(a, s.Prefix.Bits()))
		}
		return out, nil
	}
	for _, s := range n.Subnets {
		a, ok := firstFree(s, used)
		if !ok {
			return nil, fmt.Errorf("%w in subnet %s", ErrAddressesExhausted, s.Prefix)
		}
		out = append(out, netip.PrefixFrom(a, s.Prefix.Bits()))
	}
	return out, nil
}

// indexOf returns the index of the subnet that holds a, or -1.
func indexOf(subnets []Subnet, a netip.Addr) int {
	for i, s := range subnets {
		if s.Prefix.Contains(a) {
			return i
		}
	}
	return -1
}

// firstFree returns the first address of s that is neither used nor
// reserved.
func firstFree(s Subnet, used map[netip.Addr]bool) (netip.Addr, bool) {
	for a := s.Prefix.Addr(); s.Prefix.Contains(a); a = a.Next() {
		if !used[a] && !reserved(s, a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// reserved reports whether a is an address of s that no endpoint gets: the
// gateway; the network address (for IPv6 the subnet-router anycast
// address); and for IPv4 the broadcast address. Point-to-point subnets
// (/31, /127) and single addresses have no network or broadcast address.
func reserved(s Subnet, a netip.Addr) bool {
	p := s.Prefix
	switch {
	case a == s.Gateway:
		return true
	case p.Bits() >= a.BitLen()-1:
		return false
	case a == p.Addr():
		return true
	default:
		return a.Is4() && !p.Contains(a.Next())
	}
}

// Detach removes the endpoint and frees its addresses, in one
// transaction. Detaching an endpoint that does not exist is no error.
func (c *Cluster) Detach(ctx context.Context, network, host, key string) error {
	k := c.key("endpoints", network, host, key)
	for range attempts {
		resp, err := c.client.Get(ctx, k)
		if err != nil {
			return fmt.Errorf("detach %s: %w", k, err)
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		ep, err := decode[Endpoint](resp.Kvs[0])
		if err != nil {
			return err
		}
		// The addresses of the endpoint read are its own: they are
		// written and deleted with it.
		ops := []clientv3.Op{clientv3.OpDelete(k)}
		for _, p := range ep.Addresses {
			ops = append(ops, clientv3.OpDelete(c.key("addresses", network, p.Addr().String())))
		}
		txn, err := c.client.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(k), "=", resp.Kvs[0].ModRevision),
		).Then(ops...).Commit()
		if err != nil {
			return fmt.Errorf("detach %s: %w", k, err)
		}
		if txn.Succeeded {
			return nil
		}
	}
	return fmt.Errorf("detach %s: %w", k, ErrContention)
}

// Endpoint returns the endpoint key of host on network, and whether there
// is one.
func (c *Cluster) Endpoint(ctx context.Context, network, host, key string) (Endpoint, bool, error) {
	if err := checkName("network", network); err != nil {
		return Endpoint{}, false, err
	}
	if err := checkName("host", host); err != nil {
		return Endpoint{}, false, err
	}
	resp, err := c.client.Get(ctx, c.key("endpoints", network, host, key))
	if err != nil {
		return Endpoint{}, false, fmt.Errorf("read endpoint %s of %s on %s: %w", key, host, network, err)
	}
	if len(resp.Kvs) == 0 {
		return Endpoint{}, false, nil
	}
	ep, err := decode[Endpoint](resp.Kvs[0])
	return ep, err == nil, err
}

// Endpoints returns the endpoints of network on every host, and the
// revision of etcd that they are at, for Watch.
func (c *Cluster) Endpoints(ctx context.Context, network string) ([]Endpoint, int64, error) {
	if err := checkName("network", network); err != nil {
		return nil, 0, err
	}
	return c.endpoints(ctx, c.key("endpoints", network)+"/")
}

// AllEndpoints returns the endpoints of every network, and the revision of
// etcd that they are at, for Watch.
func (c *Cluster) AllEndpoints(ctx context.Context) ([]Endpoint, int64, error) {
	return c.endpoints(ctx, c.key("endpoints")+"/")
}

func (c *Cluster) endpoints(ctx context.Context, prefix string) ([]Endpoint, int64, error) {
	resp, err := c.client.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("read endpoints: %w", err)
	}
	eps, err := decodeAll[Endpoint](resp.Kvs)
	return eps, resp.Header.Revision, err
}

// EventType says what happened to an endpoint.
type EventType int

// The types of Event.
const (
	// Attached is an endpoint that Attach wrote.
	Attached EventType = iota + 1
	// Detached is an endpoint that is gone: detached, or expired with
	// its host's lease.
	Detached
)

// Event is a change of an endpoint, or the failure of a watch.
type Event struct {
	Type EventType
	// Endpoint is the endpoint; of a Detached one, only Network, Host
	// and Key are known.
	Endpoint Endpoint
	// Revision is etcd's revision of the change.
	Revision int64
	// Err is the failure that ends the watch, in its last event.
	Err error
}

// Watch sends the changes of the endpoints of every network after
// revision rev (from now if rev is 0), in order, until ctx ends; then it
// closes the channel. If the watch fails, for instance because etcd no
// longer has the history since rev (its error wraps
// rpctypes.ErrCompacted) or has lost its leader, the last event has Err
// set: read AllEndpoints again and watch from its revision.
func (c *Cluster) Watch(ctx context.Context, rev int64) <-chan Event {
	out := make(chan Event)
	prefix := c.key("endpoints") + "/"
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev+1))
	}
	send := func(e Event) bool {
		if ctx.Err() != nil {
			return false
		}
		select {
		case out <- e:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(out)
		for resp := range c.client.Watch(clientv3.WithRequireLeader(ctx), prefix, opts...) {
			if err := resp.Err(); err != nil {
				send(Event{Err: fmt.Errorf("watch endpoints after revision %d: %w", rev, err)})
				return
			}
			for _, ev := range resp.Events {
				e, err := event(prefix, ev)
				if err != nil {
					send(Event{Err: err})
					return
				}
				if !send(e) {
					return
				}
			}
		}
		send(Event{Err: errors.New("watch endpoints: the connection to etcd is closed")})
	}()
	return out
}

// event returns the Event of a change of an endpoint key, which is under
// prefix.
func event(prefix string, ev *clientv3.Event) (Event, error) {
	parts := strings.SplitN(strings.TrimPrefix(string(ev.Kv.Key), prefix), "/", 3)
	if len(parts) != 3 {
		return Event{}, fmt.Errorf("key %s: not an endpoint's", ev.Kv.Key)
	}
	e := Event{
		Type:     Detached,
		Endpoint: Endpoint{Network: parts[0], Host: parts[1], Key: parts[2]},
		Revision: ev.Kv.ModRevision,
	}
	if ev.Type == clientv3.EventTypePut {
		ep, err := decode[Endpoint](ev.Kv)
		if err != nil {
			return Event{}, err
		}
		e.Type, e.Endpoint = Attached, ep
	}
	return e, nil
}

// decode returns the JSON value of kv.
func decode[T any](kv *mvccpb.KeyValue) (T, error) {
	var v T
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return v, fmt.Errorf("value of %s: %w", kv.Key, err)
	}
	return v, nil
}

// decodeAll returns the JSON values of kvs.
func decodeAll[T any](kvs []*mvccpb.KeyValue) ([]T, error) {
	out := make([]T, 0, len(kvs))
	for _, kv := range kvs {
		v, err := decode[T](kv)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
