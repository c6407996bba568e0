package check

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// unknownKey is added to every create input with unknownValue: a key no
// plugin models, which create must hand back unchanged.
const unknownKey = "x_check_unknown"

var unknownValue = json.RawMessage(`{"a":[1]}`)

// requiredNetworkKeys are the keys netavark 2.x requires in the network that
// create returns.
var requiredNetworkKeys = []string{"name", "id", "driver", "dns_enabled", "internal", "ipv6_enabled"}

// createCases runs create with each network: the user's, or those of the
// fixtures. A plugin may refuse a network it does not support, with a
// correct error answer, but not all of them.
func (s *suite) createCases(ctx context.Context) {
	var networks []namedNetwork
	if s.cfg.Network != nil {
		m, err := object(s.cfg.Network, "the network")
		if err != nil {
			s.fail("create", nil, "%v", err)
			return
		}
		networks = []namedNetwork{{name: "network", network: m}}
	} else {
		var err error
		if networks, err = fixtureNetworks(); err != nil {
			s.fail("create", nil, "%v", err)
			return
		}
	}
	accepted, refused := 0, 0
	for _, n := range networks {
		switch s.createCase(ctx, "create/"+n.name, n.network) {
		case answered:
			accepted++
		case refusedIt:
			refused++
		}
	}
	switch {
	case accepted > 0:
		s.pass("create", nil)
	case refused == len(networks):
		s.fail("create", nil, "the plugin refused every network (%d): it must accept at least one", len(networks))
	default:
		s.skip("create", nil, "no create run ended with an answer")
	}
}

// createOutcome is how a plugin took a network in create.
type createOutcome int

const (
	answered  createOutcome = iota // exit status 0, whether the answer is right or not
	refusedIt                      // a correct error answer
	broken                         // anything else
)

// createCase runs create with network, marked with the plugin's driver and
// the unknown key, and records the case name.
func (s *suite) createCase(ctx context.Context, name string, network map[string]json.RawMessage) createOutcome {
	in := withKeys(network, map[string]json.RawMessage{"driver": jsonString(s.driver), unknownKey: unknownValue})
	stdin, err := json.Marshal(in)
	if err != nil {
		s.fail(name, nil, "encode the network: %v", err)
		return broken
	}
	r := s.runPlugin(ctx, stdin, "create")
	if refusal(r) {
		msg, err := errorAnswer(r)
		if err != nil {
			s.fail(name, r, "refused the network with a broken error answer: %v", err)
			return broken
		}
		s.skip(name, r, "the plugin refused the network: %s", msg)
		return refusedIt
	}
	_, err = createdNetwork(stdin, r)
	s.result(name, r, err)
	if r.problem() != "" {
		return broken
	}
	return answered
}

// createdNetwork checks the answer r of create with the network sent and
// returns the network it holds.
func createdNetwork(sent []byte, r *run) (json.RawMessage, error) {
	in, err := object(sent, "the sent network")
	if err != nil {
		return nil, err
	}
	v, err := successAnswer(r)
	if err != nil {
		return nil, err
	}
	out, err := object(v, "the create answer")
	if err != nil {
		return nil, err
	}
	if missing := missingKeys(out, requiredNetworkKeys...); len(missing) > 0 {
		return nil, fmt.Errorf("the network lacks keys netavark 2.x requires: %s", strings.Join(missing, ", "))
	}
	for _, k := range []string{"name", "id", "driver"} {
		if !jsonEqual(in[k], out[k]) {
			return nil, fmt.Errorf("%s changed: sent %s, got %s (create must keep name, id and driver)", k, in[k], out[k])
		}
	}
	var network types.Network
	if err := json.Unmarshal(v, &network); err != nil {
		return nil, fmt.Errorf("the answer does not decode as a network: %w", err)
	}
	var sentNetwork types.Network
	if err := json.Unmarshal(sent, &sentNetwork); err != nil {
		return nil, fmt.Errorf("the sent network does not decode: %w", err)
	}
	for _, k := range slices.Sorted(maps.Keys(sentNetwork.Extra)) {
		got, ok := out[k]
		switch {
		case !ok:
			return nil, fmt.Errorf("the unknown key %q was dropped: create must hand back the keys it does not model", k)
		case !jsonEqual(sentNetwork.Extra[k], got):
			return nil, fmt.Errorf("the unknown key %q changed: sent %s, got %s", k, sentNetwork.Extra[k], got)
		}
	}
	if err := validateSchema(networkSchema, v); err != nil {
		return nil, err
	}
	return v, nil
}

// jsonEqual reports whether the JSON values a and b mean the same.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if decode(a, &x) != nil || decode(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// decode decodes the JSON value b into v, keeping numbers exact.
func decode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}
