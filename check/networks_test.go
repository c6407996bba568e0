package check

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

func TestFixtureNetworks(t *testing.T) {
	networks, err := fixtureNetworks()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range networks {
		names = append(names, n.name)
		if _, ok := n.network["id"]; !ok {
			t.Errorf("%s: no id in %v", n.name, n.network)
		}
	}
	want := []string{"netavark-1.14/full", "netavark-1.14/minimal", "netavark-2.x", "podman-5.8/create-basic"}
	if !slices.Equal(names, want) {
		t.Errorf("fixture networks %v, want %v", names, want)
	}
}

func TestStaticIPs(t *testing.T) {
	doc := `{"name":"n","id":"i","driver":"d","subnets":[
		{"subnet":"10.213.0.0/24","gateway":"10.213.0.1"},
		{"subnet":"10.89.0.0/24","gateway":"10.89.0.1","lease_range":{"start_ip":"10.89.0.10"}},
		{"subnet":"fd10:89::/64"},
		{"subnet":"192.0.2.0/31","gateway":"192.0.2.1"}]}`
	var n types.Network
	if err := json.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	got := staticIPs(n)
	want := []netip.Addr{
		netip.MustParseAddr("10.213.0.2"),
		netip.MustParseAddr("10.89.0.10"),
		netip.MustParseAddr("fd10:89::1"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("static ips %v, want %v", got, want)
	}
}

func TestTestNetworkIsUniqueAndUsesTheDriver(t *testing.T) {
	s := &suite{driver: "mydriver"}
	a, err := s.testNetwork()
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.testNetwork()
	if err != nil {
		t.Fatal(err)
	}
	if jsonEqual(a["name"], b["name"]) || jsonEqual(a["id"], b["id"]) {
		t.Errorf("two test networks share a name or id: %s %s", a["name"], b["name"])
	}
	if string(a["driver"]) != `"mydriver"` {
		t.Errorf("driver %s", a["driver"])
	}
	s.cfg.Network = []byte(`{"name":"mine","id":"x","driver":"other","x":1}`)
	m, err := s.testNetwork()
	if err != nil {
		t.Fatal(err)
	}
	if string(m["name"]) != `"mine"` || string(m["driver"]) != `"mydriver"` || string(m["x"]) != "1" {
		t.Errorf("user network %v", m)
	}
}
