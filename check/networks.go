package check

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"slices"
	"strings"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// namedNetwork is a network to give the plugin, as a JSON object, with the
// name of its case.
type namedNetwork struct {
	name    string
	network map[string]json.RawMessage
}

// fixturesRoot is where the fixtures are in [types.Fixtures].
const fixturesRoot = "testdata/fixtures"

// fixtureNetworks returns the networks of the embedded fixtures: each create
// input, and the network inside each setup input. Each is named after its
// fixture: "podman-5.8/create-basic", "netavark-1.14/full".
func fixtureNetworks() ([]namedNetwork, error) {
	var networks []namedNetwork
	err := fs.WalkDir(types.Fixtures, fixturesRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(p, fixturesRoot+"/")
		base := path.Base(p)
		var name string
		switch {
		case strings.HasPrefix(base, "create-") && strings.HasSuffix(base, ".json"):
			name = strings.TrimSuffix(rel, ".json")
		case base == "setup.json":
			name = path.Dir(rel)
		default:
			return nil
		}
		doc, err := fs.ReadFile(types.Fixtures, p)
		if err != nil {
			return err
		}
		m, err := object(doc, p)
		if err != nil {
			return err
		}
		if base == "setup.json" {
			if m, err = object(m["network"], p+": network"); err != nil {
				return err
			}
		}
		networks = append(networks, namedNetwork{name: name, network: m})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read fixture networks: %w", err)
	}
	slices.SortFunc(networks, func(a, b namedNetwork) int { return strings.Compare(a.name, b.name) })
	return networks, nil
}

// withKeys returns a copy of network with the given keys set.
func withKeys(network map[string]json.RawMessage, keys map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(network)+len(keys))
	for k, v := range network {
		out[k] = v
	}
	for k, v := range keys {
		out[k] = v
	}
	return out
}

// testSubnet is the subnet of the first test network, one unlikely to be
// in use; the next ones are 10.213.1.0/24, 10.213.2.0/24 and so on, since
// a plugin may refuse a network whose subnet another of its networks has.
// Each network's gateway is its first address.
func testSubnet(i int) (netip.Prefix, netip.Addr) {
	p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, byte(i), 0}), 24)
	return p, p.Addr().Next()
}

// testNetwork returns the network for the setup cases: the user's network if
// there is one, else a network on the next testSubnet with a name and id
// unique to this run. Its driver is the plugin's.
func (s *suite) testNetwork() (map[string]json.RawMessage, error) {
	if s.cfg.Network != nil {
		m, err := object(s.cfg.Network, "the network")
		if err != nil {
			return nil, err
		}
		return withKeys(m, map[string]json.RawMessage{"driver": jsonString(s.driver)}), nil
	}
	id := randomHex(32)
	subnet, gateway := testSubnet(s.networks)
	s.networks++
	n := types.Network{
		Name:   "check-" + id[:8],
		ID:     id,
		Driver: s.driver,
		Subnets: []types.Subnet{{
			Subnet:  types.IPNet{Prefix: subnet},
			Gateway: gateway,
		}},
		IPAMOptions: map[string]string{"driver": "host-local"},
	}
	b, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("encode test network: %w", err)
	}
	return object(b, "the test network")
}

// staticIPs picks one address in each subnet of network for a container, as
// podman's host-local allocation does: the start of the lease range, else
// the first address after the subnet's own that is not the gateway.
func staticIPs(network types.Network) []netip.Addr {
	var ips []netip.Addr
	for _, s := range network.Subnets {
		prefix := s.Subnet.Masked()
		ip := prefix.Addr().Next()
		if s.LeaseRange != nil && s.LeaseRange.StartIP.IsValid() {
			ip = s.LeaseRange.StartIP
		}
		if ip == s.Gateway {
			ip = ip.Next()
		}
		if prefix.Contains(ip) {
			ips = append(ips, ip)
		}
	}
	return ips
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

// jsonString encodes s as a JSON string.
func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}
