package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// checkStatus checks the status block v that setup answered for a container
// with staticIPs, and returns the names of the interfaces it reports.
func checkStatus(v json.RawMessage, staticIPs []netip.Addr) ([]string, error) {
	m, err := object(v, "the status block")
	if err != nil {
		return nil, err
	}
	if raw, ok := m["interfaces"]; ok && string(raw) != "null" {
		ifaces, err := object(raw, "interfaces")
		if err != nil {
			return nil, err
		}
		for _, name := range slices.Sorted(maps.Keys(ifaces)) {
			iface, err := object(ifaces[name], fmt.Sprintf("interface %q", name))
			if err != nil {
				return nil, err
			}
			if _, ok := iface["mac_address"]; !ok {
				return nil, fmt.Errorf("interface %q has no mac_address key (netavark requires it; \"\" is allowed)", name)
			}
		}
	}
	var status types.StatusBlock
	if err := json.Unmarshal(v, &status); err != nil {
		return nil, fmt.Errorf("the answer does not decode as a status block: %w", err)
	}
	names := slices.Sorted(maps.Keys(status.Interfaces))
	for _, name := range names {
		if name == "" {
			return nil, errors.New("an interface has an empty name")
		}
		for _, a := range status.Interfaces[name].Subnets {
			if !slices.ContainsFunc(staticIPs, a.IPNet.Masked().Contains) {
				return nil, fmt.Errorf("interface %q: ipnet %s contains none of the static ips %v", name, a.IPNet, staticIPs)
			}
		}
	}
	if err := validateSchema(statusSchema, v); err != nil {
		return nil, err
	}
	return names, nil
}

// teardownAnswer checks the answer of a teardown: exit status 0, and on
// stdout nothing or one JSON value (netavark ignores it).
func teardownAnswer(r *run) error {
	if err := exitedZero(r); err != nil {
		return err
	}
	if len(trimJSONSpace(r.stdout)) == 0 {
		return nil
	}
	_, err := oneValue(r.stdout)
	return err
}
