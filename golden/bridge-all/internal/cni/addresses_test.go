package cni

import (
	"bytes"
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"example.com/demo/internal/dataplane"
)

func route(dst, gw string) dataplane.Route {
	r := dataplane.Route{Destination: netip.MustParsePrefix(dst)}
	if gw != "" {
		r.Gateway = netip.MustParseAddr(gw)
	}
	return r
}

func TestStaticAddressing(t *testing.T) {
	tests := []struct {
		name         string
		keys         string
		addrs        []string
		wantGateways []string // per address, "" for none
		wantRoutes   []dataplane.Route
		wantBridge   []string
		wantErr      string
	}{
		{
			name:         "layer 2 only",
			addrs:        []string{"10.1.0.5/24"},
			wantGateways: []string{""},
		},
		{
			name:         "configured gateway, bridge does not hold it",
			keys:         `, "gateways": ["10.1.0.254", "fd00:1::1"]`,
			addrs:        []string{"10.1.0.5/24"},
			wantGateways: []string{"10.1.0.254"},
		},
		{
			name:         "isGateway takes each subnet's first address",
			keys:         `, "isGateway": true`,
			addrs:        []string{"10.1.0.5/24", "fd00:1::5/64"},
			wantGateways: []string{"10.1.0.1", "fd00:1::1"},
			wantBridge:   []string{"10.1.0.1/24", "fd00:1::1/64"},
		},
		{
			name:         "isDefaultGateway routes through configured gateways",
			keys:         `, "isDefaultGateway": true, "gateways": ["10.1.0.254"]`,
			addrs:        []string{"10.1.0.5/24", "fd00:1::5/64"},
			wantGateways: []string{"10.1.0.254", "fd00:1::1"},
			wantRoutes:   []dataplane.Route{route("0.0.0.0/0", "10.1.0.254"), route("::/0", "fd00:1::1")},
			wantBridge:   []string{"10.1.0.254/24", "fd00:1::1/64"},
		},
		{
			name:    "address is the gateway",
			keys:    `, "gateways": ["10.1.0.5"]`,
			addrs:   []string{"10.1.0.5/24"},
			wantErr: "is its subnet's gateway",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := conf(t, `{"cniVersion": "1.1.0", "name": "n", "type": "t"`+tc.keys+`}`)
			a, err := c.staticAddressing(prefixes(tc.addrs...), sourceArgs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gws []string
			for _, ipc := range a.ips {
				gw := ""
				if ipc.gateway.IsValid() {
					gw = ipc.gateway.String()
				}
				gws = append(gws, gw)
			}
			if !slices.Equal(gws, tc.wantGateways) {
				t.Errorf("gateways = %q, want %q", gws, tc.wantGateways)
			}
			if !slices.Equal(a.routes, tc.wantRoutes) {
				t.Errorf("routes = %v, want %v", a.routes, tc.wantRoutes)
			}
			n, err := c.network(c.bridge, a)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Bridge.Gateways; !slices.Equal(got, prefixes(tc.wantBridge...)) {
				t.Errorf("bridge gateways = %v, want %v", got, tc.wantBridge)
			}
		})
	}
}

func TestIPAMAddressing(t *testing.T) {
	res := &current.Result{}
	err := json.Unmarshal([]byte(`{"cniVersion": "1.1.0",
		"ips": [{"address": "10.1.0.5/24", "gateway": "10.1.0.1"}, {"address": "fd00:1::5/64"}],
		"routes": [{"dst": "10.9.0.0/16"}, {"dst": "0.0.0.0/0", "gw": "10.1.0.254", "priority": 10}],
		"dns": {"nameservers": ["10.1.0.53"]}}`), res)
	if err != nil {
		t.Fatal(err)
	}
	c := conf(t, `{"cniVersion": "1.1.0", "name": "n", "type": "t", "isDefaultGateway": true, "ipam": {"type": "host-local"}}`)
	a, err := c.ipamAddressing(res)
	if err != nil {
		t.Fatal(err)
	}
	if want := prefixes("10.1.0.5/24", "fd00:1::5/64"); !slices.Equal([]netip.Prefix{a.ips[0].address, a.ips[1].address}, want) {
		t.Errorf("addresses = %v, want %v", a.ips, want)
	}
	// The IPAM gateway is kept; the IPv6 subnet gets its first address.
	wantRoutes := []dataplane.Route{
		route("10.9.0.0/16", "10.1.0.1"),
		{Destination: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.1.0.254"), Metric: 10},
		route("::/0", "fd00:1::1"),
	}
	if !slices.Equal(a.routes, wantRoutes) {
		t.Errorf("routes = %v, want %v", a.routes, wantRoutes)
	}
	if a.source != "ipam host-local" || !slices.Equal(a.dns.Nameservers, []string{"10.1.0.53"}) {
		t.Errorf("source %q, dns %v", a.source, a.dns)
	}

	c.DNS = types.DNS{Nameservers: []string{"192.0.2.53"}}
	if a, _ := c.ipamAddressing(res); !slices.Equal(a.dns.Nameservers, c.DNS.Nameservers) {
		t.Errorf("dns = %v, want the configuration's over IPAM's", a.dns)
	}
}

func TestPrefixOf(t *testing.T) {
	tests := []struct {
		n    net.IPNet
		want string
	}{
		{net.IPNet{IP: net.ParseIP("10.1.0.5"), Mask: net.CIDRMask(24, 32)}, "10.1.0.5/24"},
		{net.IPNet{IP: net.ParseIP("10.1.0.5").To4(), Mask: net.CIDRMask(24, 32)}, "10.1.0.5/24"},
		{net.IPNet{IP: net.ParseIP("10.1.0.5"), Mask: net.CIDRMask(120, 128)}, "10.1.0.5/24"},
		{net.IPNet{IP: net.ParseIP("fd00::5"), Mask: net.CIDRMask(64, 128)}, "fd00::5/64"},
		{net.IPNet{IP: net.ParseIP("fd00::5"), Mask: net.CIDRMask(24, 32)}, "invalid"},
		{net.IPNet{IP: net.ParseIP("10.1.0.5")}, "invalid"},
	}
	for _, tc := range tests {
		p, ok := prefixOf(tc.n)
		got := p.String()
		if !ok {
			got = "invalid"
		}
		if got != tc.want {
			t.Errorf("prefixOf(%v) = %s, want %s", tc.n, got, tc.want)
		}
	}
}

func TestWriteError(t *testing.T) {
	var buf bytes.Buffer
	writeError(&buf, "1.1.0", types.NewError(types.ErrInvalidNetworkConfig, "invalid network configuration", "invalid mtu"))
	want := `{"cniVersion":"1.1.0","code":7,"msg":"invalid network configuration","details":"invalid mtu"}` + "\n"
	if buf.String() != want {
		t.Errorf("writeError wrote %s, want %s", buf.String(), want)
	}
}
