package cnitool

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"example.com/demo/internal/nstest"
)

// cniError is the error object of the spec.
type cniError struct {
	CNIVersion string `json:"cniVersion"`
	Code       uint   `json:"code"`
	Msg        string `json:"msg"`
	Details    string `json:"details"`
}

// TestVersionCommand needs no root: VERSION reads no configuration.
func TestVersionCommand(t *testing.T) {
	n := &network{name: "v", cniVersion: "1.1.0", plugin: map[string]any{"type": pluginType}}
	r := n.exec(t, "VERSION", nil)
	var got struct {
		CNIVersion        string   `json:"cniVersion"`
		SupportedVersions []string `json:"supportedVersions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); r.code != 0 || err != nil {
		t.Fatalf("VERSION: %s (%v)", r, err)
	}
	if want := []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}; !slices.Equal(got.SupportedVersions, want) {
		t.Errorf("supportedVersions = %v, want %v", got.SupportedVersions, want)
	}
}

// TestErrors checks the error objects of requests refused before anything
// on the host is touched; none needs root.
func TestErrors(t *testing.T) {
	const ctr = "CNI_CONTAINERID=ctr1"
	ns := "CNI_NETNS=/proc/self/ns/net"
	tests := []struct {
		name       string
		cniVersion string
		cmd        string
		extra      string // keys added to the configuration
		env        []string
		wantCode   uint
		wantText   string
	}{
		{"invalid mtu", "1.1.0", "ADD", `{"mtu": 20}`, []string{ctr, ns, "CNI_IFNAME=eth0"}, 7, `invalid mtu "20"`},
		{"address without prefix", "1.1.0", "ADD", `{"args": {"cni": {"ips": ["10.1.0.5"]}}}`, []string{ctr, ns, "CNI_IFNAME=eth0"}, 7, "has no prefix length"},
		{"CNI_ARGS IP without prefix", "1.1.0", "ADD", `{}`, []string{ctr, ns, "CNI_IFNAME=eth0", "CNI_ARGS=IP=10.1.0.5"}, 4, "CNI_ARGS IP=10.1.0.5"},
		{"malformed CNI_ARGS", "1.1.0", "ADD", `{}`, []string{ctr, ns, "CNI_IFNAME=eth0", "CNI_ARGS=IP"}, 4, "CNI_ARGS"},
		{"missing netns", "1.1.0", "ADD", `{}`, []string{ctr, "CNI_NETNS=/run/netns/no-such-netns", "CNI_IFNAME=eth0"}, 4, "CNI_NETNS"},
		{"the plugin's own netns", "1.1.0", "ADD", `{}`, []string{ctr, ns, "CNI_IFNAME=eth0"}, 8, "plugin's own network namespace"},
		{"netns that is no netns", "1.1.0", "ADD", `{}`, []string{ctr, "CNI_NETNS=/proc/self/status", "CNI_IFNAME=eth0"}, 4, "is not a network namespace"},
		{"missing container ID", "1.1.0", "ADD", `{}`, []string{ns, "CNI_IFNAME=eth0"}, 4, "CNI_CONTAINERID"},
		{"unsupported version", "0.2.0", "ADD", `{}`, []string{ctr, ns, "CNI_IFNAME=eth0"}, 1, "incompatible CNI versions"},
		{"GC before 1.1.0", "1.0.0", "GC", `{}`, nil, 1, "does not allow GC"},
		{"CHECK without prevResult", "1.1.0", "CHECK", `{}`, []string{ctr, ns, "CNI_IFNAME=eth0"}, 7, "needs prevResult"},
		{"bad JSON value", "1.1.0", "ADD", `{"gateways": "10.1.0.1"}`, []string{ctr, ns, "CNI_IFNAME=eth0"}, 6, "decode network configuration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := &network{name: "errnet", cniVersion: tc.cniVersion, dataDir: t.TempDir(), plugin: map[string]any{"type": pluginType}}
			n.plugin["dataDir"] = n.dataDir
			r := n.exec(t, tc.cmd, obj(t, tc.extra), tc.env...)
			var got cniError
			if err := json.Unmarshal([]byte(r.stdout), &got); r.code == 0 || err != nil {
				t.Fatalf("%s: want an error object: %v", r, err)
			}
			if got.Code != tc.wantCode || !strings.Contains(got.Msg+"; "+got.Details, tc.wantText) {
				t.Errorf("error %+v, want code %d containing %q", got, tc.wantCode, tc.wantText)
			}
			// The version is known once the configuration is read.
			if tc.wantCode != 1 && tc.wantCode != 4 && got.CNIVersion != tc.cniVersion {
				t.Errorf("error cniVersion = %q, want %q", got.CNIVersion, tc.cniVersion)
			}
		})
	}
}

// TestStatus checks STATUS: ready with a usable data directory, code 50
// without one.
func TestStatus(t *testing.T) {
	nstest.RequireRoot(t)
	n := newNetwork(t, "1.1.0", nil)
	if r := n.exec(t, "STATUS", nil); r.code != 0 {
		t.Errorf("STATUS: %s", r)
	}
	r := n.exec(t, "STATUS", obj(t, `{"dataDir": "/proc/no-such-dir"}`))
	var got cniError
	if err := json.Unmarshal([]byte(r.stdout), &got); r.code == 0 || err != nil || got.Code != 50 {
		t.Errorf("STATUS with an unusable dataDir: %s, want code 50", r)
	}
}
