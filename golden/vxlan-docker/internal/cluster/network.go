package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"example.com/demo/internal/agentapi"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Network is a network of the cluster: one VXLAN segment, the same on
// every host. Its definition is agentapi's, which the plugin shares.
type Network = agentapi.Network

// Subnet is a subnet of a network, which no other network of the cluster
// overlaps.
type Subnet = agentapi.Subnet

// CreateNetwork creates the network that spec describes and returns it
// with its VNI: spec.VNI if not 0, which no other network may have, else
// the first free VNI of the configured range. Its subnets may not overlap
// those of any other network of the cluster. If a network of that name
// exists with the same subnets, it is returned as it is, so that creating
// a network again is harmless.
func (c *Cluster) CreateNetwork(ctx context.Context, spec Network) (Network, error) {
	if err := checkName("network", spec.Name); err != nil {
		return Network{}, err
	}
	if spec.VNI > DefaultVNIMax {
		return Network{}, fmt.Errorf("network %s: VNI %d is over the largest, %d", spec.Name, spec.VNI, DefaultVNIMax)
	}
	subnets, err := checkSubnets(spec.Name, spec.Subnets)
	if err != nil {
		return Network{}, err
	}
	spec.Subnets = subnets
	key := c.key("networks", spec.Name)
	for range attempts {
		// One read of both, at one revision.
		read, err := c.client.Txn(ctx).Then(
			clientv3.OpGet(c.key("networks")+"/", clientv3.WithPrefix()),
			clientv3.OpGet(c.key("vnis")+"/", clientv3.WithPrefix()),
		).Commit()
		if err != nil {
			return Network{}, fmt.Errorf("create network %s: read networks: %w", spec.Name, err)
		}
		networks, err := decodeAll[Network](read.Responses[0].GetResponseRange().Kvs)
		if err != nil {
			return Network{}, err
		}
		vnis := map[uint32]string{}
		for _, kv := range read.Responses[1].GetResponseRange().Kvs {
			vni, err := strconv.ParseUint(strings.TrimPrefix(string(kv.Key), c.key("vnis")+"/"), 10, 32)
			if err != nil {
				return Network{}, fmt.Errorf("key %s: not a VNI", kv.Key)
			}
			vnis[uint32(vni)] = string(kv.Value)
		}
		if i := slices.IndexFunc(networks, func(n Network) bool { return n.Name == spec.Name }); i >= 0 {
			n := networks[i]
			if !slices.Equal(n.Subnets, spec.Subnets) || spec.VNI != 0 && spec.VNI != n.VNI {
				return Network{}, fmt.Errorf("%w: network %s has VNI %d and subnets %v", ErrNetworkExists, n.Name, n.VNI, n.Subnets)
			}
			return n, nil
		}
		if err := checkOverlap(spec, networks); err != nil {
			return Network{}, err
		}
		n := spec
		if n.VNI == 0 {
			if n.VNI, err = c.freeVNI(vnis); err != nil {
				return Network{}, fmt.Errorf("create network %s: %w", n.Name, err)
			}
		} else if other, ok := vnis[n.VNI]; ok {
			return Network{}, fmt.Errorf("create network %s: %w: network %s has VNI %d", n.Name, ErrVNIInUse, other, n.VNI)
		}
		value, err := json.Marshal(n)
		if err != nil {
			return Network{}, err
		}
		vniKey := c.key("vnis", strconv.FormatUint(uint64(n.VNI), 10))
		// The network and its VNI must still be free, and no network
		// may have come since the read, with subnets that overlap.
		resp, err := c.client.Txn(ctx).If(
			clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
			clientv3.Compare(clientv3.CreateRevision(vniKey), "=", 0),
			clientv3.Compare(clientv3.ModRevision(c.key("networks")+"/").WithPrefix(), "<", read.Header.Revision+1),
		).Then(
			clientv3.OpPut(key, string(value)),
			clientv3.OpPut(vniKey, n.Name),
		).Commit()
		if err != nil {
			return Network{}, fmt.Errorf("create network %s: %w", n.Name, err)
		}
		if resp.Succeeded {
			return n, nil
		}
	}
	return Network{}, fmt.Errorf("create network %s: %w", spec.Name, ErrContention)
}

// checkSubnets returns subnets with their prefixes masked, or an error if
// a gateway is outside its subnet or two subnets overlap.
func checkSubnets(network string, subnets []Subnet) ([]Subnet, error) {
	out := make([]Subnet, len(subnets))
	for i, s := range subnets {
		if !s.Prefix.IsValid() {
			return nil, fmt.Errorf("network %s: subnet %d has no prefix", network, i)
		}
		s.Prefix = s.Prefix.Masked()
		if s.Gateway.IsValid() && !s.Prefix.Contains(s.Gateway) {
			return nil, fmt.Errorf("network %s: gateway %s is outside subnet %s", network, s.Gateway, s.Prefix)
		}
		for _, t := range out[:i] {
			if t.Prefix.Overlaps(s.Prefix) {
				return nil, fmt.Errorf("network %s: %w: %s and %s", network, ErrSubnetOverlap, t.Prefix, s.Prefix)
			}
		}
		out[i] = s
	}
	return out, nil
}

// checkOverlap returns an error naming the first network and subnet that
// overlaps a subnet of n.
func checkOverlap(n Network, networks []Network) error {
	for _, s := range n.Subnets {
		for _, other := range networks {
			for _, t := range other.Subnets {
				if s.Prefix.Overlaps(t.Prefix) {
					return fmt.Errorf("create network %s: %w: its subnet %s overlaps subnet %s of network %s",
						n.Name, ErrSubnetOverlap, s.Prefix, t.Prefix, other.Name)
				}
			}
		}
	}
	return nil
}

// freeVNI returns the first VNI of the range that is not in used.
func (c *Cluster) freeVNI(used map[uint32]string) (uint32, error) {
	for vni := c.vniMin; vni <= c.vniMax; vni++ {
		if _, ok := used[vni]; !ok {
			return vni, nil
		}
	}
	return 0, fmt.Errorf("%w in %d-%d: delete a network or widen the range", ErrVNIExhausted, c.vniMin, c.vniMax)
}

// DeleteNetwork deletes the network name and frees its VNI and reserved
// addresses. It refuses
// while the network has endpoints. Deleting a network that does not exist
// is no error.
func (c *Cluster) DeleteNetwork(ctx context.Context, name string) error {
	if err := checkName("network", name); err != nil {
		return err
	}
	key := c.key("networks", name)
	endpoints := c.key("endpoints", name) + "/"
	for range attempts {
		read, err := c.client.Txn(ctx).Then(
			clientv3.OpGet(key),
			clientv3.OpGet(endpoints, clientv3.WithPrefix(), clientv3.WithCountOnly()),
		).Commit()
		if err != nil {
			return fmt.Errorf("delete network %s: %w", name, err)
		}
		kvs := read.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return nil
		}
		if count := read.Responses[1].GetResponseRange().Count; count > 0 {
			return fmt.Errorf("delete network %s: %w: it has %d endpoints; remove their containers first", name, ErrNetworkInUse, count)
		}
		n, err := decode[Network](kvs[0])
		if err != nil {
			return err
		}
		// An endpoint attached since the read keeps the network; a range
		// compare with no key in the range compares a CreateRevision of 0.
		resp, err := c.client.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(key), "=", kvs[0].ModRevision),
			clientv3.Compare(clientv3.CreateRevision(endpoints).WithPrefix(), "=", 0),
		).Then(
			clientv3.OpDelete(key),
			clientv3.OpDelete(c.key("vnis", strconv.FormatUint(uint64(n.VNI), 10))),
			// Addresses that Reserve took and nobody released.
			clientv3.OpDelete(c.key("addresses", name)+"/", clientv3.WithPrefix()),
		).Commit()
		if err != nil {
			return fmt.Errorf("delete network %s: %w", name, err)
		}
		if resp.Succeeded {
			return nil
		}
	}
	return fmt.Errorf("delete network %s: %w", name, ErrContention)
}

// Network returns the network name, or an error wrapping
// ErrNetworkNotFound.
func (c *Cluster) Network(ctx context.Context, name string) (Network, error) {
	if err := checkName("network", name); err != nil {
		return Network{}, err
	}
	resp, err := c.client.Get(ctx, c.key("networks", name))
	if err != nil {
		return Network{}, fmt.Errorf("read network %s: %w", name, err)
	}
	if len(resp.Kvs) == 0 {
		return Network{}, fmt.Errorf("%w: %s", ErrNetworkNotFound, name)
	}
	return decode[Network](resp.Kvs[0])
}

// Networks returns every network of the cluster, by name.
func (c *Cluster) Networks(ctx context.Context) ([]Network, error) {
	resp, err := c.client.Get(ctx, c.key("networks")+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("read networks: %w", err)
	}
	return decodeAll[Network](resp.Kvs)
}
