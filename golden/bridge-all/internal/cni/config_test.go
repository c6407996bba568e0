package cni

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// conf decodes a network configuration for a test.
func conf(t *testing.T, js string) *config {
	t.Helper()
	c, err := parseConfig([]byte(js))
	if err != nil {
		t.Fatalf("parseConfig(%s): %v", js, err)
	}
	return c
}

// code returns the CNI error code of err, or 0 if err is no CNI error.
func code(err error) uint {
	var e *types.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestRequestedAddressesPrecedence(t *testing.T) {
	const (
		args    = `"args": {"cni": {"ips": ["10.1.0.5/24"]}}`
		rc      = `"runtimeConfig": {"ips": ["10.2.0.5/24", "fd00:2::5/64"]}`
		badArgs = `"args": {"cni": {"ips": ["not an address"]}}`
		badRC   = `"runtimeConfig": {"ips": ["10.2.0.5"]}`
		env     = "IgnoreUnknown=1;IP=10.3.0.5/24,fd00:3::5/64;K8S_POD_NAME=web"
	)
	tests := []struct {
		name       string
		keys       []string
		cniArgs    string
		want       []string
		wantSource string
		wantCode   uint
	}{
		{name: "none"},
		{name: "args.cni.ips", keys: []string{args}, want: []string{"10.1.0.5/24"}, wantSource: sourceArgs},
		{name: "runtimeConfig.ips", keys: []string{rc}, want: []string{"10.2.0.5/24", "fd00:2::5/64"}, wantSource: sourceRuntimeConfig},
		{name: "CNI_ARGS IP", cniArgs: env, want: []string{"10.3.0.5/24", "fd00:3::5/64"}, wantSource: sourceEnvArgs},
		{name: "args over the others", keys: []string{args, rc}, cniArgs: env, want: []string{"10.1.0.5/24"}, wantSource: sourceArgs},
		{name: "runtimeConfig over CNI_ARGS", keys: []string{rc}, cniArgs: env, want: []string{"10.2.0.5/24", "fd00:2::5/64"}, wantSource: sourceRuntimeConfig},
		{name: "a source that loses is not read", keys: []string{args, badRC}, cniArgs: "IP=garbage", want: []string{"10.1.0.5/24"}, wantSource: sourceArgs},
		{name: "CNI_ARGS without IP", cniArgs: "K8S_POD_NAME=web"},
		{name: "empty args.cni.ips falls through", keys: []string{`"args": {"cni": {"ips": []}}`}, cniArgs: "IP=10.3.0.5/24", want: []string{"10.3.0.5/24"}, wantSource: sourceEnvArgs},
		{name: "args without cni", keys: []string{`"args": {"other": 1}`}, cniArgs: "IP=10.3.0.5/24", want: []string{"10.3.0.5/24"}, wantSource: sourceEnvArgs},
		{name: "bad args win all the same", keys: []string{badArgs, rc}, wantSource: sourceArgs, wantCode: types.ErrInvalidNetworkConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := conf(t, `{"cniVersion": "1.1.0", "name": "n", "type": "t"`+prefixComma(tc.keys)+`}`)
			got, source, err := requestedAddresses(&c.NetConf, tc.cniArgs)
			if tc.wantCode != 0 {
				if code(err) != tc.wantCode || !strings.Contains(err.Error(), tc.wantSource) {
					t.Fatalf("err = %v, want code %d naming %s", err, tc.wantCode, tc.wantSource)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if source != tc.wantSource || !slices.Equal(got, prefixes(tc.want...)) {
				t.Errorf("got %v from %q, want %v from %q", got, source, tc.want, tc.wantSource)
			}
		})
	}
}

func prefixComma(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	return ", " + strings.Join(keys, ", ")
}

func prefixes(ss ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

func TestRequestedAddressesErrors(t *testing.T) {
	tests := []struct {
		name     string
		keys     string
		cniArgs  string
		wantCode uint
		wantText string
	}{
		{"args without prefix", `"args": {"cni": {"ips": ["10.1.0.5"]}}`, "", types.ErrInvalidNetworkConfig, "args.cni.ips: 10.1.0.5 has no prefix length"},
		{"runtimeConfig not an address", `"runtimeConfig": {"ips": ["ten"]}`, "", types.ErrInvalidNetworkConfig, "runtimeConfig.ips"},
		{"IPv4-mapped", `"runtimeConfig": {"ips": ["::ffff:10.1.0.5/120"]}`, "", types.ErrInvalidNetworkConfig, "IPv4-mapped"},
		{"network address", `"args": {"cni": {"ips": ["10.1.0.0/24"]}}`, "", types.ErrInvalidNetworkConfig, "network address"},
		{"two in a subnet", `"args": {"cni": {"ips": ["10.1.0.5/24", "10.1.0.6/24"]}}`, "", types.ErrInvalidNetworkConfig, "same subnet"},
		{"CNI_ARGS IP without prefix", "", "IP=10.3.0.5", types.ErrInvalidEnvironmentVariables, "CNI_ARGS IP=10.3.0.5"},
		{"CNI_ARGS not KEY=VALUE", "", "IP", types.ErrInvalidEnvironmentVariables, `CNI_ARGS: "IP" is not KEY=VALUE`},
		{"CNI_ARGS empty key", "", "=1;IP=10.3.0.5/24", types.ErrInvalidEnvironmentVariables, "CNI_ARGS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys := ""
			if tc.keys != "" {
				keys = ", " + tc.keys
			}
			c := conf(t, `{"cniVersion": "1.1.0", "name": "n", "type": "t"`+keys+`}`)
			_, _, err := requestedAddresses(&c.NetConf, tc.cniArgs)
			if code(err) != tc.wantCode || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("err = %v (code %d), want code %d containing %q", err, code(err), tc.wantCode, tc.wantText)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	c := conf(t, `{"cniVersion": "1.1.0", "name": "web", "type": "demo-cni", "mtu": "1400", "isDefaultGateway": true,
		"gateways": ["10.1.0.254"], "runtimeConfig": {"mac": "02:42:0a:01:00:05",
		"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]},
		"args": {"cni": {"labels": [{"key": "app", "value": "web"}]}}}`)
	switch {
	case c.bridge != "br-web":
		t.Errorf("bridge = %q, want br-web, derived from the network name", c.bridge)
	case c.settings.MTU != 1400:
		t.Errorf("mtu = %d, want 1400", c.settings.MTU)
	case !c.isGateway:
		t.Error("isDefaultGateway does not imply isGateway")
	case c.dataDir != DefaultDataDir:
		t.Errorf("dataDir = %q, want %q", c.dataDir, DefaultDataDir)
	case c.mac.String() != "02:42:0a:01:00:05":
		t.Errorf("mac = %s", c.mac)
	case len(c.labels()) != 1 || c.labels()[0] != (Label{Key: "app", Value: "web"}):
		t.Errorf("labels = %v", c.labels())
	case c.hostIfName("ctr", "eth0") == c.hostIfName("ctr", "eth1"):
		t.Error("two interfaces of a container share a host interface name")
	case len(c.portMappings) != 1 || c.portMappings[0].HostPort != 8080 || c.portFields.List != "runtimeConfig.portMappings" ||
		!c.settings.Firewall || c.IPMasq:
		t.Errorf("ports = %v of %s, firewall %v, ipMasq %v; want 8080 of runtimeConfig, the firewall, no masquerade",
			c.portMappings, c.portFields.List, c.settings.Firewall, c.IPMasq)
	}

	// The older convention is read when the capability gives no ports.
	c = conf(t, `{"cniVersion": "1.1.0", "name": "web", "type": "demo-cni", "ipMasq": true,
		"args": {"cni": {"port_mappings": [{"host_port": 8080, "container_port": 80, "protocol": "udp"}]}}}`)
	if len(c.portMappings) != 1 || c.portMappings[0].Protocol != "udp" || c.portFields.List != "args.cni.port_mappings" || !c.IPMasq {
		t.Errorf("args.cni.port_mappings: ports = %v of %s, ipMasq %v", c.portMappings, c.portFields.List, c.IPMasq)
	}

	tests := []struct {
		name     string
		keys     string
		wantCode uint
		wantText string
	}{
		{"not JSON", `, "mtu": `, types.ErrDecodingFailure, "decode"},
		{"mtu out of range", `, "mtu": 40`, types.ErrInvalidNetworkConfig, `invalid mtu "40"`},
		{"mtu not a number", `, "mtu": "big"`, types.ErrDecodingFailure, "decode"},
		{"bridge name too long", `, "bridge": "a-very-long-bridge-name"`, types.ErrInvalidNetworkConfig, "longer than 15"},
		{"bad gateway", `, "gateways": ["10.1.0"]`, types.ErrInvalidNetworkConfig, "gateways"},
		{"relative dataDir", `, "dataDir": "state"`, types.ErrInvalidNetworkConfig, "not an absolute path"},
		{"bad MAC", `, "runtimeConfig": {"mac": "02:42"}`, types.ErrInvalidNetworkConfig, "runtimeConfig.mac"},
		{"bad host port", `, "runtimeConfig": {"portMappings": [{"hostPort": 0, "containerPort": 80}]}`, types.ErrInvalidNetworkConfig,
			"runtimeConfig.portMappings[0].hostPort: 0 is not a port number"},
		{"bad protocol", `, "runtimeConfig": {"portMappings": [{"hostPort": 80, "containerPort": 80, "protocol": "icmp"}]}`, types.ErrInvalidNetworkConfig,
			`runtimeConfig.portMappings[0].protocol: "icmp" is not tcp, udp or sctp`},
		{"bad host ip", `, "runtimeConfig": {"portMappings": [{"hostPort": 80, "containerPort": 80, "hostIP": "x"}]}`, types.ErrInvalidNetworkConfig,
			`runtimeConfig.portMappings[0].hostIP: "x" is not an IP address`},
		{"old convention", `, "args": {"cni": {"port_mappings": [{"host_port": 80, "container_port": 70000}]}}`, types.ErrInvalidNetworkConfig,
			"args.cni.port_mappings[0].container_port: 70000 is not a port number"},
		{"bad isolate", `, "isolate": "yes"`, types.ErrInvalidNetworkConfig, `isolate "yes"`},
		{"bad firewall", `, "firewall": "iptables"`, types.ErrInvalidNetworkConfig, `firewall "iptables"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig([]byte(`{"cniVersion": "1.1.0", "name": "n", "type": "t"` + tc.keys + `}`))
			if code(err) != tc.wantCode || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("err = %v (code %d), want code %d containing %q", err, code(err), tc.wantCode, tc.wantText)
			}
		})
	}
}
