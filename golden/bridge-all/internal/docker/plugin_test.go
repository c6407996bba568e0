package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/store"
)

const testNetworkID = "0b5e291e1d4874ad7cd6f8a75ec420c62b1bcb432277964f0d7e9920c0a3958b"

// createRequest is a CreateNetwork as the engine sends it for
// docker network create -d demo --subnet 198.18.79.0/24 -o KEY=VALUE...
func createRequest(opts ...string) CreateNetworkRequest {
	generic := map[string]any{}
	for _, kv := range opts {
		k, v, _ := strings.Cut(kv, "=")
		generic[k] = v
	}
	return CreateNetworkRequest{
		NetworkID: testNetworkID,
		Options:   map[string]any{OptionGeneric: generic, OptionEnableIPv6: false},
		IPv4Data:  []IPAMData{pool("198.18.79.0/24", "198.18.79.1/24")},
	}
}

// pool is an IPAMData of the engine's default address space.
func pool(subnet, gateway string) IPAMData {
	return IPAMData{
		AddressSpace: "LocalDefault",
		Pool:         netip.MustParsePrefix(subnet),
		Gateway:      netip.MustParsePrefix(gateway),
	}
}

func TestParseDockerNetwork(t *testing.T) {
	gateway := []netip.Prefix{netip.MustParsePrefix("198.18.79.1/24")}
	tests := []struct {
		name    string
		req     CreateNetworkRequest
		want    dockerNetwork
		wantErr string
	}{
		{
			name: "defaults",
			req:  createRequest(),
			want: dockerNetwork{ID: testNetworkID, Bridge: "br-0b5e291e1d48", Gateways: gateway},
		},
		{
			name: "bridge and mtu",
			req:  createRequest("bridge=br-mine", "mtu=1400"),
			want: dockerNetwork{ID: testNetworkID, Bridge: "br-mine", MTU: 1400, Gateways: gateway},
		},
		{
			name: "internal dual stack",
			req: func() CreateNetworkRequest {
				r := createRequest()
				r.Options[OptionInternal] = true
				r.IPv6Data = []IPAMData{pool("2001:db8:80::/64", "2001:db8:80::1/64")}
				return r
			}(),
			want: dockerNetwork{
				ID: testNetworkID, Bridge: "br-0b5e291e1d48", Internal: true,
				Gateways: append(gateway, netip.MustParsePrefix("2001:db8:80::1/64")),
			},
		},
		{name: "unknown option", req: createRequest("foo=bar"), wantErr: `unknown network option "foo" (known: bridge, mtu, isolate, firewall, ` + optMasquerade + `)`},
		{name: "bad isolate", req: createRequest("isolate=yes"), wantErr: `isolate "yes": want true, strict or false`},
		{name: "bad firewall", req: createRequest("firewall=iptables"), wantErr: `invalid firewall "iptables"`},
		{name: "bad masquerade", req: createRequest(optMasquerade + "=maybe"), wantErr: `invalid ` + optMasquerade},
		{name: "mtu too small", req: createRequest("mtu=12"), wantErr: `invalid mtu "12"`},
		{name: "mtu not a number", req: createRequest("mtu=big"), wantErr: `invalid mtu "big"`},
		{name: "bridge name too long", req: createRequest("bridge=a-very-long-bridge"), wantErr: "longer than 15"},
		{name: "bridge name with a slash", req: createRequest("bridge=a/b"), wantErr: "contains '/'"},
		{
			name: "option not a string",
			req: func() CreateNetworkRequest {
				r := createRequest()
				r.Options[OptionGeneric] = map[string]any{"mtu": 1400.0}
				return r
			}(),
			wantErr: "network option mtu: want a string",
		},
		{
			name: "gateway outside its pool",
			req: func() CreateNetworkRequest {
				r := createRequest()
				r.IPv4Data[0].Gateway = netip.MustParsePrefix("198.18.80.1/24")
				return r
			}(),
			wantErr: "outside its pool",
		},
		{name: "no network id", req: CreateNetworkRequest{}, wantErr: "missing NetworkID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDockerNetwork(tt.req)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one mentioning %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("unexpected error %v", err)
			case got.ID != tt.want.ID || got.Bridge != tt.want.Bridge || got.MTU != tt.want.MTU ||
				got.Internal != tt.want.Internal || !slices.Equal(got.Gateways, tt.want.Gateways):
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// newTestDocker returns a Plugin on the store in dir, as a daemon
// (re)started on that state directory would make it.
func newTestDocker(t *testing.T, dir string) *Plugin {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return NewPlugin(driver.New(t.TempDir()), st, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// TestDockerBookkeeping runs the calls that touch no link: they need no
// root, and each one runs on a newly started driver.
func TestDockerBookkeeping(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := newTestDocker(t, dir).CreateNetwork(ctx, createRequest("mtu=1400")); err != nil {
		t.Fatal(err)
	}
	other := createRequest()
	other.NetworkID = "1" + testNetworkID[1:]
	if err := newTestDocker(t, dir).CreateNetwork(ctx, other); err != nil {
		t.Fatalf("second network: %v", err)
	}
	shared := createRequest("bridge=br-0b5e291e1d48")
	shared.NetworkID = "2" + testNetworkID[1:]
	if err := newTestDocker(t, dir).CreateNetwork(ctx, shared); err == nil || !strings.Contains(err.Error(), "already the bridge of network") {
		t.Errorf("network on another network's bridge: %v, want an error", err)
	}

	ep := CreateEndpointRequest{
		NetworkID:  testNetworkID,
		EndpointID: "cc00f9953d8cee93d02a7d64b706d3734955edb70bffae990451ddcc2651e4c5",
		Interface:  &EndpointInterface{Address: netip.MustParsePrefix("198.18.79.2/24")},
	}
	resp, err := newTestDocker(t, dir).CreateEndpoint(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Interface == nil || resp.Interface.MacAddress != dataplane.KeyMAC(ep.EndpointID).String() ||
		resp.Interface.Address.IsValid() || resp.Interface.AddressIPv6.IsValid() {
		t.Errorf("CreateEndpoint without a MAC answered %+v, want the MAC only", resp.Interface)
	}
	info, err := newTestDocker(t, dir).EndpointOperInfo(ctx, EndpointRequest{NetworkID: testNetworkID, EndpointID: ep.EndpointID})
	if err != nil || info.Value["bridge"] != "br-0b5e291e1d48" || info.Value["mac_address"] != resp.Interface.MacAddress {
		t.Errorf("EndpointOperInfo after a restart = %v, %v", info.Value, err)
	}

	ep.EndpointID = "dd" + ep.EndpointID[2:]
	ep.Interface.MacAddress = "02:11:22:33:44:55"
	if resp, err := newTestDocker(t, dir).CreateEndpoint(ctx, ep); err != nil || resp.Interface != nil {
		t.Errorf("CreateEndpoint with a MAC answered %+v, %v; want {}", resp.Interface, err)
	}
	ep.EndpointID = "ee" + ep.EndpointID[2:]
	ep.NetworkID = "unknown"
	if _, err := newTestDocker(t, dir).CreateEndpoint(ctx, ep); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateEndpoint on an unknown network: %v, want ErrNotFound", err)
	}

	// Rollbacks and repeats of the engine: unknown endpoints and networks
	// are no error.
	d := newTestDocker(t, dir)
	unknown := EndpointRequest{NetworkID: testNetworkID, EndpointID: "ff" + ep.EndpointID[2:]}
	if err := d.Leave(ctx, unknown); err != nil {
		t.Errorf("Leave of an unknown endpoint: %v", err)
	}
	if err := d.DeleteEndpoint(ctx, unknown); err != nil {
		t.Errorf("DeleteEndpoint of an unknown endpoint: %v", err)
	}
	if err := d.DeleteNetwork(ctx, DeleteNetworkRequest{NetworkID: "unknown"}); err != nil {
		t.Errorf("DeleteNetwork of an unknown network: %v", err)
	}

	// DeleteNetwork removes the endpoints the engine left.
	for _, id := range []string{testNetworkID, other.NetworkID} {
		if err := newTestDocker(t, dir).DeleteNetwork(ctx, DeleteNetworkRequest{NetworkID: id}); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := store.Open(dir)
	for _, kind := range []string{kindNetwork, kindEndpoint} {
		if ids, err := st.List(kind); err != nil || len(ids) != 0 {
			t.Errorf("%s left after DeleteNetwork: %v, %v", kind, ids, err)
		}
	}
}

// TestProgramExternalConnectivityRefuses checks the port maps that are
// refused before anything is published; publishing itself is tested on the
// kernel by the replay test and the end-to-end test.
func TestProgramExternalConnectivityRefuses(t *testing.T) {
	ctx := context.Background()
	d := newTestDocker(t, t.TempDir())
	for _, opts := range [][]string{nil, {"firewall=none"}} {
		req := createRequest(opts...)
		req.NetworkID = fmt.Sprintf("%d%s", len(opts), testNetworkID[1:])
		if err := d.CreateNetwork(ctx, req); err != nil {
			t.Fatal(err)
		}
		ep := CreateEndpointRequest{NetworkID: req.NetworkID, EndpointID: "e" + req.NetworkID,
			Interface: &EndpointInterface{Address: netip.MustParsePrefix("198.18.79.2/24")}}
		if _, err := d.CreateEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
	}
	binding := func(fields ...any) map[string]any {
		m := map[string]any{"Proto": 6.0, "IP": "", "Port": 80.0, "HostIP": "", "HostPort": 8080.0, "HostPortEnd": 8080.0}
		for i := 0; i < len(fields); i += 2 {
			m[fields[i].(string)] = fields[i+1]
		}
		return m
	}
	tests := []struct {
		name, network string
		bindings      []any
		want          string
	}{
		{"no host port", "0", []any{binding("HostPort", 0.0, "HostPortEnd", 0.0)}, "does not choose host ports"},
		{"icmp", "0", []any{binding("Proto", 1.0)}, "protocol 1 is not tcp"},
		{"host ip", "0", []any{binding("HostIP", "bogus")}, `HostIP: "bogus" is not an IP address`},
		{"twice", "0", []any{binding(), binding()}, "also published by"},
		{"firewall none", "1", []any{binding()}, "firewall=none"},
		{"not an array", "0", nil, "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var portmap any = tt.bindings
			if tt.bindings == nil {
				portmap = "8080:80"
			}
			req := ExternalConnectivityRequest{
				NetworkID:  tt.network + testNetworkID[1:],
				EndpointID: "e" + tt.network + testNetworkID[1:],
				Options:    map[string]any{OptionPortMap: portmap},
			}
			if err := d.ProgramExternalConnectivity(ctx, req); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	none := ExternalConnectivityRequest{NetworkID: "0" + testNetworkID[1:], EndpointID: "e0" + testNetworkID[1:],
		Options: map[string]any{OptionPortMap: []any{}}}
	if err := d.ProgramExternalConnectivity(ctx, none); err != nil {
		t.Errorf("without published ports: %v", err)
	}
}
