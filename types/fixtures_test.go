package types

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fixtureType returns a new value of the message type a fixture holds, named
// after its file name.
func fixtureType(t *testing.T, path string) any {
	t.Helper()
	base := filepath.Base(path)
	switch {
	case base == "setup.json" || base == "teardown.json":
		return new(NetworkPluginExec)
	case base == "netavark-input.json":
		return new(NetavarkOptions)
	case strings.HasPrefix(base, "create-"):
		return new(Network)
	case strings.HasPrefix(base, "status"):
		return new(StatusBlock)
	case base == "info.json":
		return new(Info)
	case base == "error.json":
		return new(ErrorResponse)
	}
	t.Fatalf("no message type for fixture %s", path)
	return nil
}

func fixtures(t testing.TB) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir("testdata/fixtures", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			paths = append(paths, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 10 {
		t.Fatalf("found %d fixtures, want at least 10", len(paths))
	}
	return paths
}

// TestFixturesRoundTrip decodes every fixture into its message type, encodes
// it again and checks that the meaning is kept: the same keys with the same
// values, except that null values may be dropped.
func TestFixturesRoundTrip(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(path, func(t *testing.T) {
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			msg := fixtureType(t, path)
			if err := json.Unmarshal(in, msg); err != nil {
				t.Fatalf("decode: %v", err)
			}
			out, err := json.Marshal(msg)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			want, got := meaning(t, in), meaning(t, out)
			if !reflect.DeepEqual(want, got) {
				t.Errorf("round trip changed the meaning\n in: %s\nout: %s", in, out)
			}
		})
	}
}

// meaning decodes a JSON document generically, drops null values and
// normalizes the "created" time, the only differences a round trip may make.
func meaning(t *testing.T, doc []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("decode %s: %v", doc, err)
	}
	return dropNulls(v)
}

func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if e == nil {
				continue
			}
			if s, ok := e.(string); ok && k == "created" {
				if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
					e = tm.UTC().Format(time.RFC3339Nano)
				}
			}
			out[k] = dropNulls(e)
		}
		return out
	case []any:
		for i := range v {
			v[i] = dropNulls(v[i])
		}
	}
	return v
}

// TestNullsAndOmittedKeysDecodeAlike checks that the netavark 1.x form of a
// message (null for every absent field) and the 2.x form (keys omitted)
// decode to the same value.
func TestNullsAndOmittedKeysDecodeAlike(t *testing.T) {
	v1, err := os.ReadFile("testdata/fixtures/netavark-1.14/minimal/setup.json")
	if err != nil {
		t.Fatal(err)
	}
	v2 := `{"container_id":"someID","container_name":"someName",
		"network":{"dns_enabled":false,"driver":"capture",
		"id":"2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9",
		"internal":false,"ipv6_enabled":false,"name":"plugin-net","network_interface":"dummy0"},
		"network_options":{"interface_name":"eth0"}}`
	var a, b NetworkPluginExec
	if err := json.Unmarshal(v1, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(v2), &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("1.x and 2.x forms differ:\n1.x %+v\n2.x %+v", a, b)
	}
	if a.Network.Extra != nil {
		t.Errorf("null values of modelled keys kept as extra keys: %v", a.Network.Extra)
	}
}

// TestDecodeOptionalKeys checks that a network decodes without created,
// labels and route_type, and with them.
func TestDecodeOptionalKeys(t *testing.T) {
	tests := []struct {
		name, doc string
		check     func(Network) bool
	}{
		{"no created", `{"name":"n","id":"i","driver":"d"}`, func(n Network) bool { return n.Created == nil }},
		{"zero created", `{"name":"n","id":"i","driver":"d","created":"0001-01-01T00:00:00Z"}`,
			func(n Network) bool { return n.Created != nil && n.Created.IsZero() }},
		{"labels", `{"name":"n","id":"i","driver":"d","labels":{"a":"b"}}`, func(n Network) bool { return n.Labels["a"] == "b" }},
		{"route without type or gateway", `{"name":"n","id":"i","driver":"d","routes":[{"destination":"10.0.0.0/8"}]}`,
			func(n Network) bool {
				return n.Routes[0].RouteType == "" && !n.Routes[0].Gateway.IsValid() && n.Routes[0].Metric == nil
			}},
		{"route type", `{"name":"n","id":"i","driver":"d","routes":[{"destination":"10.0.0.0/8","route_type":"blackhole"}]}`,
			func(n Network) bool { return n.Routes[0].RouteType == "blackhole" }},
		{"metric zero", `{"name":"n","id":"i","driver":"d","routes":[{"destination":"10.0.0.0/8","gateway":"10.0.0.1","metric":0}]}`,
			func(n Network) bool { return n.Routes[0].Metric != nil && *n.Routes[0].Metric == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n Network
			if err := json.Unmarshal([]byte(tt.doc), &n); err != nil {
				t.Fatal(err)
			}
			if !tt.check(n) {
				t.Errorf("decoded %+v", n)
			}
		})
	}
}

// TestNetworkKeepsUnknownKeys checks that keys Network does not model survive
// a round trip, as create must hand them back.
func TestNetworkKeepsUnknownKeys(t *testing.T) {
	in := `{"name":"n","id":"i","driver":"d","ipv6_enabled":false,"internal":true,"dns_enabled":false,"future":{"x":[1,2]},"other":"v"}`
	var n Network
	if err := json.Unmarshal([]byte(in), &n); err != nil {
		t.Fatal(err)
	}
	if len(n.Extra) != 2 {
		t.Fatalf("extra keys = %v, want future and other", n.Extra)
	}
	out, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(meaning(t, []byte(in)), meaning(t, out)) {
		t.Errorf("round trip lost keys:\n in %s\nout %s", in, out)
	}
	// An extra key never overrides a modelled field.
	n.Extra["name"] = json.RawMessage(`"other"`)
	out, err = json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"name":"n"`)) {
		t.Errorf("extra key overrode name: %s", out)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		into any
	}{
		{"ipnet without prefix", `{"ipnet":"10.88.0.5"}`, new(NetAddress)},
		{"ipnet not an address", `{"ipnet":"host/24"}`, new(NetAddress)},
		{"subnet prefix too long", `{"subnet":"10.0.0.0/33"}`, new(Subnet)},
		{"bad mac", `{"mac_address":"zz:bb:cc:dd:ee:ff"}`, new(NetInterface)},
		{"64-bit mac", `{"mac_address":"aa:bb:cc:dd:ee:ff:00:11"}`, new(NetInterface)},
		{"bad static ip", `{"interface_name":"eth0","static_ips":["10.0.0.300"]}`, new(PerNetworkOptions)},
		{"port out of range", `{"host_ip":"","container_port":70000,"host_port":1,"range":1,"protocol":"tcp"}`, new(PortMapping)},
		{"info with a number", `{"version":"1","api_version":"1.0.0","n":1}`, new(Info)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := json.Unmarshal([]byte(tt.doc), tt.into); err == nil {
				t.Errorf("decoded %s without error: %+v", tt.doc, tt.into)
			}
		})
	}
}

func TestEncodeRules(t *testing.T) {
	mac, err := ParseHardwareAddr("AA:BB:CC:DD:EE:01")
	if err != nil {
		t.Fatal(err)
	}
	ipnet, err := ParseIPNet("10.88.0.5/16")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		msg  any
		want string
	}{
		{"ipnet by value is a cidr with host bits", NetAddress{IPNet: ipnet}, `{"ipnet":"10.88.0.5/16"}`},
		{"ipnet by pointer", &NetAddress{IPNet: ipnet}, `{"ipnet":"10.88.0.5/16"}`},
		{"mac is colon hex", NetInterface{MACAddress: mac}, `{"mac_address":"aa:bb:cc:dd:ee:01"}`},
		{"mac_address always present", NetInterface{}, `{"mac_address":""}`},
		{"status in a map by value", StatusBlock{Interfaces: map[string]NetInterface{"eth0": {MACAddress: mac, Subnets: []NetAddress{{IPNet: ipnet}}}}},
			`{"interfaces":{"eth0":{"mac_address":"aa:bb:cc:dd:ee:01","subnets":[{"ipnet":"10.88.0.5/16"}]}}}`},
		{"empty status", StatusBlock{}, `{}`},
		{"network keys netavark 2.x requires", Network{}, `{"name":"","id":"","driver":"","ipv6_enabled":false,"internal":false,"dns_enabled":false}`},
		{"static mac", PerNetworkOptions{InterfaceName: "eth0", StaticMAC: mac}, `{"static_mac":"aa:bb:cc:dd:ee:01","interface_name":"eth0"}`},
		{"port mapping keeps all keys", PortMapping{Protocol: "tcp"}, `{"host_ip":"","container_port":0,"host_port":0,"range":0,"protocol":"tcp"}`},
		{"info flattens extra keys", Info{Version: "1", APIVersion: APIVersion, Extra: map[string]string{"a": "b"}}, `{"a":"b","api_version":"1.0.0","version":"1"}`},
		{"error has one key", ErrorResponse{Error: "boom"}, `{"error":"boom"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestEncodeZeroIPNetFails checks that a zero IPNet is an encoding error
// rather than "<nil>", "" or an object that netavark would reject.
func TestEncodeZeroIPNetFails(t *testing.T) {
	for _, msg := range []any{NetAddress{}, Subnet{}, Route{}} {
		if out, err := json.Marshal(msg); err == nil {
			t.Errorf("%T encoded a zero ipnet as %s", msg, out)
		}
	}
}
