package firewall

import (
	"slices"
	"strings"
	"testing"
)

func TestParsePorts(t *testing.T) {
	tests := []struct {
		name     string
		mappings []PortMapping
		want     []string // Port.String of each port, or the error's text
		wantErr  string
	}{
		{name: "tcp", mappings: []PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp", Range: 1}}, want: []string{"8080/tcp"}},
		{name: "protocol and range defaults", mappings: []PortMapping{{HostPort: 8080, ContainerPort: 80}}, want: []string{"8080/tcp"}},
		{name: "comma-joined protocols, any case", mappings: []PortMapping{{HostPort: 53, ContainerPort: 53, Protocol: "UDP, tcp,udp"}},
			want: []string{"53/udp", "53/tcp"}},
		{name: "range", mappings: []PortMapping{{HostPort: 9000, ContainerPort: 5000, Protocol: "sctp", Range: 3}}, want: []string{"9000-9002/sctp"}},
		{name: "host addresses", mappings: []PortMapping{
			{HostIP: "192.0.2.1", HostPort: 80, ContainerPort: 80},
			{HostIP: "::ffff:192.0.2.2", HostPort: 80, ContainerPort: 80},
			{HostIP: "2001:db8::1", HostPort: 80, ContainerPort: 80},
			{HostIP: "0.0.0.0", HostPort: 81, ContainerPort: 80},
			{HostIP: "::", HostPort: 81, ContainerPort: 80},
		}, want: []string{"192.0.2.1:80/tcp", "192.0.2.2:80/tcp", "[2001:db8::1]:80/tcp", "0.0.0.0:81/tcp", "[::]:81/tcp"}},
		{name: "same port, other protocol", mappings: []PortMapping{{HostPort: 80, ContainerPort: 80}, {HostPort: 80, ContainerPort: 80, Protocol: "udp"}},
			want: []string{"80/tcp", "80/udp"}},

		{name: "unknown protocol", mappings: []PortMapping{{HostPort: 80, ContainerPort: 80, Protocol: "icmp"}},
			wantErr: `port_mappings[0].protocol: "icmp" is not tcp, udp or sctp`},
		{name: "host port 0", mappings: []PortMapping{{ContainerPort: 80}}, wantErr: "port_mappings[0].host_port: 0 is not a port number"},
		{name: "host port too big", mappings: []PortMapping{{HostPort: 65536, ContainerPort: 80}}, wantErr: "port_mappings[0].host_port: 65536"},
		{name: "container port 0", mappings: []PortMapping{{HostPort: 80}}, wantErr: "port_mappings[0].container_port: 0 is not a port number"},
		{name: "range past 65535", mappings: []PortMapping{{HostPort: 65535, ContainerPort: 80, Range: 2}},
			wantErr: "port_mappings[0].range: 2 ports from host_port 65535 and container_port 80 run past port 65535"},
		{name: "container range past 65535", mappings: []PortMapping{{HostPort: 80, ContainerPort: 65534, Range: 3}}, wantErr: "run past port 65535"},
		{name: "negative range", mappings: []PortMapping{{HostPort: 80, ContainerPort: 80, Range: -1}}, wantErr: "port_mappings[0].range"},
		{name: "bad host ip", mappings: []PortMapping{{HostIP: "localhost", HostPort: 80, ContainerPort: 80}},
			wantErr: `port_mappings[0].host_ip: "localhost" is not an IP address`},
		{name: "host ip with zone", mappings: []PortMapping{{HostIP: "fe80::1%eth0", HostPort: 80, ContainerPort: 80}}, wantErr: "is not an IP address"},
		{name: "twice", mappings: []PortMapping{{HostPort: 80, ContainerPort: 80}, {HostPort: 80, ContainerPort: 81}},
			wantErr: "port_mappings[1].host_port: host port 80/tcp on every IPv4 address is also published by port_mappings[0]"},
		{name: "overlapping ranges", mappings: []PortMapping{{HostPort: 80, ContainerPort: 80, Range: 10}, {HostPort: 85, ContainerPort: 80}},
			wantErr: "host port 85/tcp on every IPv4 address is also published by port_mappings[0]"},
		{name: "every address and 0.0.0.0", mappings: []PortMapping{{HostPort: 80, ContainerPort: 80}, {HostIP: "0.0.0.0", HostPort: 80, ContainerPort: 80}},
			wantErr: "also published by port_mappings[0]"},
		{name: "one address twice", mappings: []PortMapping{{HostIP: "192.0.2.1", HostPort: 80, ContainerPort: 80}, {HostIP: "192.0.2.1", HostPort: 80, ContainerPort: 81}},
			wantErr: "host port 80/tcp on 192.0.2.1 is also published"},
		{name: "one protocol twice in a list", mappings: []PortMapping{{HostPort: 80, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 80, ContainerPort: 80, Protocol: "udp,tcp"}},
			wantErr: "also published by port_mappings[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ports, err := ParsePorts(tt.mappings, NetavarkFields)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ports {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ports %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNetworkParsePorts(t *testing.T) {
	v4 := Network{Name: "v4", Subnets: prefixes("10.1.0.0/24")}
	for _, tt := range []struct {
		hostIP, wantErr string
	}{
		{"", ""},
		{"0.0.0.0", ""},
		{"192.0.2.1", ""},
		{"::", "host_ip :: is an IPv6 address, and network v4 has no IPv6 subnet"},
		{"2001:db8::1", "host_ip 2001:db8::1 is an IPv6 address"},
	} {
		ports, err := v4.ParsePorts([]PortMapping{{HostIP: tt.hostIP, HostPort: 80, ContainerPort: 80}}, NetavarkFields)
		switch {
		case tt.wantErr == "" && (err != nil || len(ports) != 1):
			t.Errorf("host_ip %q: %v, %v", tt.hostIP, ports, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("host_ip %q: error %v, want one containing %q", tt.hostIP, err, tt.wantErr)
		}
	}
	internal := Network{Name: "internal", Subnets: prefixes("10.1.0.0/24"), Internal: true}
	if ports, err := internal.ParsePorts([]PortMapping{{HostPort: 80, ContainerPort: 80}}, NetavarkFields); err != nil || ports != nil {
		t.Errorf("internal network: %v, %v; want no ports and no error", ports, err)
	}
	if _, err := internal.ParsePorts([]PortMapping{{HostPort: 0, ContainerPort: 80}}, NetavarkFields); err == nil {
		t.Error("internal network: a bad mapping was accepted")
	}
}

// TestPortKeys checks which host ports a port takes on a network of one or
// both families.
func TestPortKeys(t *testing.T) {
	ports, err := ParsePorts([]PortMapping{
		{HostPort: 80, ContainerPort: 80, Range: 2},
		{HostIP: "::", HostPort: 90, ContainerPort: 90},
		{HostIP: "192.0.2.1", HostPort: 100, ContainerPort: 100},
	}, NetavarkFields)
	if err != nil {
		t.Fatal(err)
	}
	var dual, v4 []string
	for _, p := range ports {
		for _, k := range p.keys(true, true) {
			dual = append(dual, k.String())
		}
		for _, k := range p.keys(true, false) {
			v4 = append(v4, k.String())
		}
	}
	wantDual := []string{
		"80/tcp on every IPv4 address", "81/tcp on every IPv4 address", "80/tcp on every IPv6 address", "81/tcp on every IPv6 address",
		"90/tcp on every IPv6 address", "100/tcp on 192.0.2.1",
	}
	wantV4 := []string{"80/tcp on every IPv4 address", "81/tcp on every IPv4 address", "100/tcp on 192.0.2.1"}
	if !slices.Equal(dual, wantDual) || !slices.Equal(v4, wantV4) {
		t.Errorf("keys on a dual-stack network %v\nwant %v\non an IPv4 network %v\nwant %v", dual, wantDual, v4, wantV4)
	}
}

func TestParseIsolation(t *testing.T) {
	for s, want := range map[string]Isolation{"": IsolateNone, "false": IsolateNone, "true": Isolate, "strict": IsolateStrict} {
		if got, err := ParseIsolation(s); err != nil || got != want {
			t.Errorf("ParseIsolation(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseIsolation("yes"); err == nil {
		t.Error(`ParseIsolation("yes") succeeded`)
	}
}
