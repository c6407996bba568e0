package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/manifest"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// repoRoot is the repository root, relative to this package's directory.
const repoRoot = "../.."

// fileNames are the schema files, which users rely on by name.
var fileNames = []string{
	"error.schema.json",
	"info.schema.json",
	"manifest.schema.json",
	"netavark-input.schema.json",
	"network-plugin-exec.schema.json",
	"network.schema.json",
	"status-block.schema.json",
}

// compileAll compiles every schema with Compile.
func compileAll(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	schemas, err := Compile()
	if err != nil {
		t.Fatal(err)
	}
	return schemas
}

// validate validates the JSON document doc against s.
func validate(s *jsonschema.Schema, doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("decode document: %w", err)
	}
	return s.Validate(v)
}

func TestFileNamesAndIDs(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, 0, len(files))
	for name := range files {
		got = append(got, name)
	}
	slices.Sort(got)
	if !slices.Equal(got, fileNames) {
		t.Fatalf("files = %v, want %v", got, fileNames)
	}
	for name, b := range files {
		var head struct {
			Schema string `json:"$schema"`
			ID     string `json:"$id"`
		}
		if err := json.Unmarshal(b, &head); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if head.Schema != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema = %q", name, head.Schema)
		}
		if want := "https://github.com/netavark-plugin-gen/netavark-plugin-gen/schema/" + name; head.ID != want {
			t.Errorf("%s: $id = %q, want %q", name, head.ID, want)
		}
	}
}

func TestFilesAreDeterministicAndPretty(t *testing.T) {
	first, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, err := Files()
		if err != nil {
			t.Fatal(err)
		}
		for name, b := range first {
			if !bytes.Equal(b, again[name]) {
				t.Fatalf("%s differs between two calls", name)
			}
		}
	}
	for name, b := range first {
		var compact, indented bytes.Buffer
		if err := json.Compact(&compact, b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := json.Indent(&indented, compact.Bytes(), "", "  "); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		indented.WriteByte('\n')
		if !bytes.Equal(indented.Bytes(), b) {
			t.Errorf("%s is not indented with two spaces and a final newline", name)
		}
	}
}

func TestSchemasCompile(t *testing.T) {
	schemas := compileAll(t)
	if len(schemas) != len(fileNames) {
		t.Errorf("compiled %d schemas, want %d", len(schemas), len(fileNames))
	}
}

// cases is testdata/cases.json, which .ci/ajv/check.mjs reads too.
type cases struct {
	Comment  string `json:"comment"`
	Fixtures []struct {
		File   string `json:"file"`
		Schema string `json:"schema"`
	} `json:"fixtures"`
	Valid   []docCase `json:"valid"`
	Invalid []docCase `json:"invalid"`
}

type docCase struct {
	Name   string          `json:"name"`
	Schema string          `json:"schema"`
	Doc    json.RawMessage `json:"doc"`
}

func readCases(t *testing.T) cases {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var c cases
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("decode testdata/cases.json: %v", err)
	}
	if len(c.Fixtures) == 0 || len(c.Valid) == 0 || len(c.Invalid) == 0 {
		t.Fatal("testdata/cases.json has an empty list")
	}
	return c
}

// schemaFor returns the schema of a fixture, named after its file name.
func schemaFor(path string) string {
	base := filepath.Base(path)
	switch {
	case base == "setup.json" || base == "teardown.json":
		return "network-plugin-exec.schema.json"
	case base == "netavark-input.json":
		return "netavark-input.schema.json"
	case strings.HasPrefix(base, "create-"):
		return "network.schema.json"
	case strings.HasPrefix(base, "status"):
		return "status-block.schema.json"
	case base == "info.json":
		return "info.schema.json"
	case base == "error.json":
		return "error.schema.json"
	}
	return ""
}

// TestCasesListEveryFixture checks that testdata/cases.json lists every
// fixture of package types, each with the schema its file name calls for, so
// that both validators see them all.
func TestCasesListEveryFixture(t *testing.T) {
	c := readCases(t)
	var onDisk []string
	root := filepath.Join(repoRoot, "types", "testdata", "fixtures")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			rel, err := filepath.Rel(repoRoot, path)
			if err != nil {
				return err
			}
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, f := range c.Fixtures {
		listed = append(listed, f.File)
		if want := schemaFor(f.File); f.Schema != want {
			t.Errorf("%s: schema %q, want %q", f.File, f.Schema, want)
		}
	}
	slices.Sort(onDisk)
	slices.Sort(listed)
	if !slices.Equal(onDisk, listed) {
		t.Errorf("testdata/cases.json lists fixtures\n%v\nbut the fixtures are\n%v", listed, onDisk)
	}
}

func TestFixturesValidate(t *testing.T) {
	schemas := compileAll(t)
	for _, f := range readCases(t).Fixtures {
		t.Run(f.File, func(t *testing.T) {
			doc, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(f.File)))
			if err != nil {
				t.Fatal(err)
			}
			s := schemas[f.Schema]
			if s == nil {
				t.Fatalf("no schema %s", f.Schema)
			}
			if err := validate(s, doc); err != nil {
				t.Errorf("%s does not validate against %s:\n%v", f.File, f.Schema, err)
			}
		})
	}
}

func TestValidDocuments(t *testing.T) {
	schemas := compileAll(t)
	for _, tt := range readCases(t).Valid {
		t.Run(tt.Name, func(t *testing.T) {
			s := schemas[tt.Schema]
			if s == nil {
				t.Fatalf("no schema %s", tt.Schema)
			}
			if err := validate(s, tt.Doc); err != nil {
				t.Errorf("%s does not validate against %s:\n%v", tt.Doc, tt.Schema, err)
			}
		})
	}
}

// TestInvalidDocuments checks that documents netavark would reject do not
// validate.
func TestInvalidDocuments(t *testing.T) {
	schemas := compileAll(t)
	for _, tt := range readCases(t).Invalid {
		t.Run(tt.Name, func(t *testing.T) {
			s := schemas[tt.Schema]
			if s == nil {
				t.Fatalf("no schema %s", tt.Schema)
			}
			if err := validate(s, tt.Doc); err == nil {
				t.Errorf("%s validates against %s", tt.Doc, tt.Schema)
			}
		})
	}
}

func mustIPNet(t *testing.T, s string) types.IPNet {
	t.Helper()
	n, err := types.ParseIPNet(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGoValuesValidate checks that what the Go types encode validates, so
// that the types and the schemas agree.
func TestGoValuesValidate(t *testing.T) {
	mac, err := types.ParseHardwareAddr("aa:bb:cc:dd:ee:01")
	if err != nil {
		t.Fatal(err)
	}
	metric := uint32(100)
	created := time.Date(2026, 11, 22, 19, 0, 0, 0, time.UTC)
	network := types.Network{
		Name: "net", ID: "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9", Driver: "mydriver",
		NetworkInterface: "br0",
		Created:          &created,
		Subnets: []types.Subnet{
			{Subnet: mustIPNet(t, "10.89.0.0/24"), Gateway: netip.MustParseAddr("10.89.0.1"),
				LeaseRange: &types.LeaseRange{StartIP: netip.MustParseAddr("10.89.0.10")}},
			{Subnet: mustIPNet(t, "fd10:89::/64")},
		},
		Routes: []types.Route{
			{Destination: mustIPNet(t, "0.0.0.0/0"), Gateway: netip.MustParseAddr("10.89.0.254"), Metric: &metric},
			{Destination: mustIPNet(t, "203.0.113.0/24"), RouteType: "blackhole"},
		},
		IPv6Enabled:       true,
		NetworkDNSServers: []netip.Addr{netip.MustParseAddr("10.89.0.53")},
		Labels:            map[string]string{"team": "net"},
		Options:           map[string]string{"mtu": "1500"},
		IPAMOptions:       map[string]string{"driver": "host-local"},
		Extra:             map[string]json.RawMessage{"future_key": json.RawMessage(`{"a":1}`)},
	}
	options := types.PerNetworkOptions{
		StaticIPs:     []netip.Addr{netip.MustParseAddr("10.89.0.5"), netip.MustParseAddr("fd10:89::5")},
		Aliases:       []string{"web"},
		StaticMAC:     mac,
		InterfaceName: "eth0",
		Options:       map[string]string{"vlan": "12"},
	}
	ports := []types.PortMapping{{HostIP: "127.0.0.1", ContainerPort: 80, HostPort: 8080, Range: 1, Protocol: "tcp"}}
	tests := []struct {
		name   string
		schema string
		value  any
	}{
		{"status block", "status-block.schema.json", types.StatusBlock{
			Interfaces: map[string]types.NetInterface{
				"eth0": {MACAddress: mac, Subnets: []types.NetAddress{
					{IPNet: mustIPNet(t, "10.89.0.5/24"), Gateway: netip.MustParseAddr("10.89.0.1")},
					{IPNet: mustIPNet(t, "fd10:89::5/64")},
				}},
				"eth1": {},
			},
			DNSServerIPs:     []netip.Addr{netip.MustParseAddr("10.89.0.1")},
			DNSSearchDomains: []string{"dns.podman"},
		}},
		{"empty status block", "status-block.schema.json", types.StatusBlock{}},
		{"network", "network.schema.json", network},
		{"zero network", "network.schema.json", types.Network{}},
		{"setup request", "network-plugin-exec.schema.json", types.NetworkPluginExec{
			ContainerID: "c", ContainerName: "web-1", PortMappings: ports, Network: network, NetworkOptions: options,
		}},
		{"minimal setup request", "network-plugin-exec.schema.json", types.NetworkPluginExec{
			Network: types.Network{Name: "n", ID: "i", Driver: "d"}, NetworkOptions: types.PerNetworkOptions{InterfaceName: "eth0"},
		}},
		{"info", "info.schema.json", types.Info{Version: "0.1.0", APIVersion: types.APIVersion, Extra: map[string]string{"description": "x"}}},
		{"error", "error.schema.json", types.ErrorResponse{Error: "setup failed"}},
		{"netavark input", "netavark-input.schema.json", types.NetavarkOptions{
			ContainerID: "c", ContainerName: "web-1", ContainerHostname: "web",
			DNSServers:   []netip.Addr{netip.MustParseAddr("1.1.1.1")},
			PortMappings: ports,
			Networks:     map[string]types.PerNetworkOptions{"net": options},
			NetworkInfo:  map[string]types.Network{"net": network},
		}},
	}
	schemas := compileAll(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := json.Marshal(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(schemas[tt.schema], doc); err != nil {
				t.Errorf("%s does not validate against %s:\n%v", doc, tt.schema, err)
			}
		})
	}
}

// TestFixturesReencodedValidate decodes every fixture into its Go type and
// checks that the type's encoding validates too.
func TestFixturesReencodedValidate(t *testing.T) {
	newValue := map[string]func() any{
		"network.schema.json":             func() any { return new(types.Network) },
		"network-plugin-exec.schema.json": func() any { return new(types.NetworkPluginExec) },
		"status-block.schema.json":        func() any { return new(types.StatusBlock) },
		"info.schema.json":                func() any { return new(types.Info) },
		"error.schema.json":               func() any { return new(types.ErrorResponse) },
		"netavark-input.schema.json":      func() any { return new(types.NetavarkOptions) },
	}
	schemas := compileAll(t)
	for _, f := range readCases(t).Fixtures {
		t.Run(f.File, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(f.File)))
			if err != nil {
				t.Fatal(err)
			}
			v := newValue[f.Schema]()
			if err := json.Unmarshal(in, v); err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(schemas[f.Schema], out); err != nil {
				t.Errorf("%s does not validate against %s:\n%v", out, f.Schema, err)
			}
		})
	}
}

// object is the part of a schema object that the structure tests read.
type object struct {
	Type                 string                     `json:"type"`
	Ref                  string                     `json:"$ref"`
	Properties           map[string]json.RawMessage `json:"properties"`
	Required             []string                   `json:"required"`
	AdditionalProperties json.RawMessage            `json:"additionalProperties"`
	Defs                 map[string]object          `json:"$defs"`
	Title                string                     `json:"title"`
	Description          string                     `json:"description"`
}

// objects returns the object schemas of every file, keyed by type name.
func objects(t *testing.T) map[string]object {
	t.Helper()
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	all := make(map[string]object)
	for name, b := range files {
		if name == ManifestFile {
			continue // not a protocol message: see TestManifestSchema
		}
		var root object
		if err := json.Unmarshal(b, &root); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		all[root.Title] = root
		for def, o := range root.Defs {
			if o.Type == "object" {
				all[def] = o
			}
		}
	}
	return all
}

// TestRequiredKeys checks that the keys netavark requires, and only those,
// are required.
func TestRequiredKeys(t *testing.T) {
	want := map[string][]string{
		"Network":           {"name", "id", "driver", "ipv6_enabled", "internal", "dns_enabled"},
		"Subnet":            {"subnet"},
		"LeaseRange":        nil,
		"Route":             {"destination"},
		"PerNetworkOptions": {"interface_name"},
		"PortMapping":       {"host_ip", "container_port", "host_port", "range", "protocol"},
		"NetworkPluginExec": {"container_id", "container_name", "network", "network_options"},
		"StatusBlock":       nil,
		"NetInterface":      {"mac_address"},
		"NetAddress":        {"ipnet"},
		"Info":              {"version", "api_version"},
		"ErrorResponse":     {"error"},
		"NetavarkOptions":   {"container_id", "container_name", "networks", "network_info"},
	}
	got := objects(t)
	for name, keys := range want {
		o, ok := got[name]
		if !ok {
			t.Errorf("no schema for %s", name)
			continue
		}
		if !slices.Equal(o.Required, keys) {
			t.Errorf("%s requires %v, want %v", name, o.Required, keys)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d object schemas, want %d", len(got), len(want))
	}
}

// TestOptionalKeysAcceptNull checks the structure that lets netavark 1.x's
// nulls through: every optional property is anyOf [its schema, null], and no
// required property accepts null.
func TestOptionalKeysAcceptNull(t *testing.T) {
	for name, o := range objects(t) {
		for key, raw := range o.Properties {
			var p struct {
				AnyOf []struct {
					Type string `json:"type"`
				} `json:"anyOf"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			nullable := len(p.AnyOf) == 2 && p.AnyOf[1].Type == "null"
			if required := slices.Contains(o.Required, key); required == nullable {
				t.Errorf("%s.%s: required %v, accepts null %v", name, key, required, nullable)
			}
		}
	}
}

// TestAdditionalProperties checks that unknown keys are allowed, as netavark
// ignores them, except in the error object, and that Info's further keys are
// strings.
func TestAdditionalProperties(t *testing.T) {
	for name, o := range objects(t) {
		got := string(o.AdditionalProperties)
		want := ""
		switch name {
		case "ErrorResponse":
			want = "false"
		case "Info":
			want = `{"type":"string"}`
		}
		var compact bytes.Buffer
		if got != "" {
			if err := json.Compact(&compact, o.AdditionalProperties); err != nil {
				t.Fatal(err)
			}
		}
		if compact.String() != want {
			t.Errorf("%s: additionalProperties %s, want %q", name, got, want)
		}
		if _, ok := o.Properties["Extra"]; ok {
			t.Errorf("%s has a property Extra", name)
		}
	}
}

// TestDescriptionsFromDocComments checks that every type and property has
// the description of its Go doc comment.
func TestDescriptionsFromDocComments(t *testing.T) {
	all := objects(t)
	for name, o := range all {
		if !strings.HasPrefix(o.Description, name+" ") {
			t.Errorf("%s: description %q", name, o.Description)
		}
		for key, raw := range o.Properties {
			var p struct {
				Description string `json:"description"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			if p.Description == "" {
				t.Errorf("%s.%s has no description", name, key)
			}
		}
	}
	want := "Network is a podman network as netavark hands it to a plugin: the input and the output of create, and part of every setup and teardown request."
	if got := all["Network"].Description; got != want {
		t.Errorf("Network description\n got %q\nwant %q", got, want)
	}
	// Doc links read as plain names, and HTML characters are not escaped.
	if got := all["NetInterface"].Description; !strings.HasSuffix(got, "in a StatusBlock.") {
		t.Errorf("NetInterface description %q", got)
	}
	if got := all["ErrorResponse"].Description; !strings.Contains(got, `plugin "<driver>" failed`) {
		t.Errorf("ErrorResponse description %q", got)
	}
}

// TestIPNetPatternAgreesWithNetip checks the ipnet pattern against
// netip.ParsePrefix, which types.IPNet decodes with: on a table, on random
// prefixes in every text form, and on random edits of them.
func TestIPNetPatternAgreesWithNetip(t *testing.T) {
	re := regexp.MustCompile(ipNetPattern)
	check := func(s string) {
		t.Helper()
		_, err := netip.ParsePrefix(s)
		if got, want := re.MatchString(s), err == nil; got != want {
			t.Errorf("pattern matches %q: %v; netip parses it: %v", s, got, want)
		}
	}
	for _, s := range []string{
		"10.88.0.5/16", "0.0.0.0/0", "255.255.255.255/32", "10.88.0.5", "10.88.0.5/33",
		"10.88.0.5/016", "010.88.0.5/16", "10.88.0.256/16", "10.88.0/16", "host/24", "",
		"fd00::5/64", "::/0", "::1/128", "fd00::5/129", "fd00::5", "1:2:3:4:5:6:7:8/64",
		"1:2:3:4:5:6:7::/64", "::2:3:4:5:6:7:8/64", "1:2:3:4:5:6:7::8/64", "1::2::3/64",
		"::ffff:10.0.0.1/120", "1:2:3:4:5:6:1.2.3.4/96", "1:2:3:4:5::1.2.3.4/96",
		"1:2:3:4:5:6::1.2.3.4/96", "fe80::1%eth0/64", "12345::/64", "FD00::A/64",
		"1.2.3.4/24 ", " 1.2.3.4/24", "1.2.3.4/+24", "::/00",
	} {
		check(s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "0123456789abcdefABCDEF:./%x"
	for range 20000 {
		var p netip.Prefix
		if rng.IntN(2) == 0 {
			var a [4]byte
			for i := range a {
				a[i] = byte(rng.IntN(256))
			}
			p = netip.PrefixFrom(netip.AddrFrom4(a), rng.IntN(33))
		} else {
			var a [16]byte
			for i := range a {
				if rng.IntN(3) > 0 { // zeros make "::" forms
					a[i] = byte(rng.IntN(256))
				}
			}
			addr := netip.AddrFrom16(a)
			if rng.IntN(8) == 0 {
				addr = netip.AddrFrom16(netip.AddrFrom4([4]byte{a[0], a[1], a[2], a[3]}).As16()) // ::ffff:a.b.c.d
			}
			p = netip.PrefixFrom(addr, rng.IntN(129))
		}
		s := p.String()
		if rng.IntN(2) == 0 && p.Addr().Is6() {
			s = expanded(p)
		}
		check(s)
		b := []byte(s)
		switch i := rng.IntN(len(b)); rng.IntN(3) {
		case 0:
			b[i] = alphabet[rng.IntN(len(alphabet))]
		case 1:
			b = append(b[:i], b[i+1:]...)
		case 2:
			b = slices.Insert(b, i, alphabet[rng.IntN(len(alphabet))])
		}
		check(string(b))
	}
}

// expanded returns p with its IPv6 address written as eight hextets.
func expanded(p netip.Prefix) string {
	a := p.Addr().As16()
	parts := make([]string, 8)
	for i := range parts {
		parts[i] = fmt.Sprintf("%x", uint16(a[2*i])<<8|uint16(a[2*i+1]))
	}
	return fmt.Sprintf("%s/%d", strings.Join(parts, ":"), p.Bits())
}

// TestMACPatternAgreesWithTypes checks the MAC pattern against
// types.ParseHardwareAddr on colon-separated strings (the form netavark
// accepts; Go accepts other forms too).
func TestMACPatternAgreesWithTypes(t *testing.T) {
	re := regexp.MustCompile(macPattern)
	check := func(s string) {
		t.Helper()
		_, err := types.ParseHardwareAddr(s)
		if got, want := re.MatchString(s), err == nil; got != want {
			t.Errorf("pattern matches %q: %v; ParseHardwareAddr parses it: %v", s, got, want)
		}
	}
	for _, s := range []string{
		"aa:bb:cc:dd:ee:ff", "AA:BB:CC:DD:EE:FF", "00:00:00:00:00:00", "aa:bb:cc:dd:ee",
		"aa:bb:cc:dd:ee:ff:00:11", "zz:bb:cc:dd:ee:ff", "a:bb:cc:dd:ee:ff", "aaa:bb:cc:dd:ee:ff", "",
	} {
		check(s)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		b := []byte("aa:bb:cc:dd:ee:ff")
		for i := range b {
			if b[i] != ':' {
				b[i] = "0123456789abcdefABCDEF"[rng.IntN(22)]
			}
		}
		i := rng.IntN(len(b))
		switch rng.IntN(4) {
		case 0:
			b[i] = "0123456789abcdefgz:"[rng.IntN(19)]
		case 1:
			b = append(b[:i], b[i+1:]...)
		case 2:
			b = slices.Insert(b, i, "0f:"[rng.IntN(3)])
		}
		check(string(b))
	}
}

// TestBundle checks that the bundle holds every schema under $defs by file
// name and that a validator can use a message's schema from the bundle.
func TestBundle(t *testing.T) {
	b, err := Bundle()
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Schema string                     `json:"$schema"`
		ID     string                     `json:"$id"`
		Defs   map[string]json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	if bundle.Schema != "https://json-schema.org/draft/2020-12/schema" || bundle.ID != BundleID {
		t.Errorf("bundle $schema %q, $id %q", bundle.Schema, bundle.ID)
	}
	if len(bundle.Defs) != len(files) {
		t.Errorf("bundle has %d schemas, want %d", len(bundle.Defs), len(files))
	}
	for name, want := range files {
		var got, w any
		if err := json.Unmarshal(bundle.Defs[name], &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("bundle's %s differs from the file", name)
		}
	}

	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(BundleID, doc); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile(BundleID); err != nil {
		t.Fatalf("compile bundle: %v", err)
	}
	status, err := c.Compile(BundleID + "#/$defs/status-block.schema.json")
	if err != nil {
		t.Fatalf("compile status block from the bundle: %v", err)
	}
	if err := validate(status, []byte(`{"interfaces":{"eth0":{"mac_address":"aa:bb:cc:dd:ee:01","subnets":[{"ipnet":"10.88.0.5/16"}]}}}`)); err != nil {
		t.Errorf("valid status: %v", err)
	}
	if err := validate(status, []byte(`{"interfaces":{"eth0":{"mac_address":"aa:bb:cc:dd:ee:01","subnets":[{"ipnet":"10.88.0.5"}]}}}`)); err == nil {
		t.Error("status with an ipnet without prefix validates against the bundle's schema")
	}
}

func TestUnescapeHTML(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"a\u003cb\u003e \u0026"`, `"a<b> &"`},
		{`"\\u003c"`, `"\\u003c"`},
		{`"\\\u003c"`, `"\\<"`},
		{`"\u2028\n\""`, `"\u2028\n\""`},
		{`{"k":"\u0026"}`, `{"k":"&"}`},
	}
	for _, tt := range tests {
		if got := string(unescapeHTML([]byte(tt.in))); got != tt.want {
			t.Errorf("unescapeHTML(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestManifestSchema checks the schema of the project manifest against the
// manifests of the golden projects, and that it refuses what Decode refuses
// or would misread.
func TestManifestSchema(t *testing.T) {
	s := compileAll(t)[ManifestFile]
	paths, err := filepath.Glob(filepath.Join(repoRoot, "golden", "*", manifest.FileName))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden manifest: %v", err)
	}
	var good []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(s, b); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if filepath.Base(filepath.Dir(p)) == "bridge" {
			good = b
		}
	}
	for _, tt := range []struct{ name, old, new string }{
		{"unknown key", `"format": 1,`, `"format": 1, "extra": true,`},
		{"format 0", `"format": 1,`, `"format": 0,`},
		{"no template", `"template": "bridge",`, ``},
		{"bad owner", `"owner": "scaffold"`, `"owner": "mine"`},
		{"bad mode", `"mode": "0644"`, `"mode": "644"`},
	} {
		doc := strings.Replace(string(good), tt.old, tt.new, 1)
		if doc == string(good) {
			t.Fatalf("%s: %q not in the golden manifest", tt.name, tt.old)
		}
		if validate(s, []byte(doc)) == nil {
			t.Errorf("%s: validates, want invalid", tt.name)
		}
	}
}
