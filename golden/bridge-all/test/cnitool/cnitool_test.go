package cnitool

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"

	"example.com/demo/internal/nstest"
)

// The tests use the benchmarking range 198.18.0.0/15 and the documentation
// prefix 2001:db8::/32, which nothing on a host routes elsewhere.

// obj decodes a JSON object written in a test.
func obj(t testing.TB, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return m
}

func prefixes(ss ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

// TestStaticAddresses drives add, check, del and del again through cnitool
// with the addresses of each conventional source, and of several at once.
func TestStaticAddresses(t *testing.T) {
	nstest.RequireRoot(t)
	tests := []struct {
		name   string
		plugin string // keys of the plugin's configuration
		env    []string
		want   []string
	}{
		{
			name:   "args.cni.ips",
			plugin: `{"args": {"cni": {"ips": ["198.18.30.5/24", "2001:db8:30::5/64"], "labels": [{"key": "app", "value": "web"}]}}}`,
			want:   []string{"198.18.30.5/24", "2001:db8:30::5/64"},
		},
		{
			name:   "runtimeConfig.ips",
			plugin: `{"capabilities": {"ips": true, "portMappings": true}}`,
			env:    []string{`CAP_ARGS={"ips": ["198.18.31.5/24"], "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}`},
			want:   []string{"198.18.31.5/24"},
		},
		{
			name: "CNI_ARGS IP",
			env:  []string{"CNI_ARGS=IgnoreUnknown=1;IP=198.18.32.5/24,2001:db8:32::5/64"},
			want: []string{"198.18.32.5/24", "2001:db8:32::5/64"},
		},
		{
			name:   "args.cni.ips before runtimeConfig.ips before CNI_ARGS IP",
			plugin: `{"capabilities": {"ips": true}, "args": {"cni": {"ips": ["198.18.33.5/24"]}}}`,
			env:    []string{`CAP_ARGS={"ips": ["198.18.34.5/24"]}`, "CNI_ARGS=IP=198.18.35.5/24"},
			want:   []string{"198.18.33.5/24"},
		},
		{
			name:   "runtimeConfig.ips before CNI_ARGS IP",
			plugin: `{"capabilities": {"ips": true}}`,
			env:    []string{`CAP_ARGS={"ips": ["198.18.36.5/24"]}`, "CNI_ARGS=IP=198.18.37.5/24"},
			want:   []string{"198.18.36.5/24"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys := map[string]any{"isDefaultGateway": true}
			if tc.plugin != "" {
				keys = obj(t, tc.plugin)
				keys["isDefaultGateway"] = true
			}
			n := newNetwork(t, "1.1.0", keys)
			ns := nstest.NewNetns(t)

			res := n.add(t, ns, tc.env...)
			want := prefixes(tc.want...)
			if got := res.addresses(); !slices.Equal(got, want) {
				t.Errorf("result addresses = %v, want %v", got, want)
			}
			st := inNetns(t, ns, "eth0")
			for _, p := range want {
				if !slices.Contains(st.addresses, p) {
					t.Errorf("eth0 addresses = %v, want %s among them", st.addresses, p)
				}
				// isDefaultGateway: the bridge holds each subnet's first
				// address and the container routes through it.
				if gw := p.Masked().Addr().Next(); !slices.Contains(st.gateways, gw) {
					t.Errorf("default routes via %v, want one via %s", st.gateways, gw)
				}
			}
			rec := n.record(t, res.hostIfName())
			if rec["containerID"] != containerID(ns) || rec["bridge"] != n.bridge {
				t.Errorf("record = %v, want container %s on bridge %s", rec, containerID(ns), n.bridge)
			}
			switch tc.name {
			case "args.cni.ips":
				if labels, _ := json.Marshal(rec["labels"]); string(labels) != `[{"key":"app","value":"web"}]` {
					t.Errorf("record labels = %s, want app=web", labels)
				}
			case "runtimeConfig.ips":
				if pm, _ := json.Marshal(rec["ports"]); !strings.Contains(string(pm), `"HostPort":8080`) {
					t.Errorf("record ports = %s, want port 8080", pm)
				}
			}

			if r := n.cnitool(t, "check", ns, tc.env...); r.code != 0 {
				t.Errorf("cnitool check: %s", r)
			}
			for i := range 2 {
				if r := n.cnitool(t, "del", ns, tc.env...); r.code != 0 {
					t.Fatalf("cnitool del %d: %s", i+1, r)
				}
			}
			if inNetns(t, ns, "eth0").exists {
				t.Error("eth0 left in the container netns")
			}
			if nstest.LinkExists(t, res.hostIfName()) || nstest.LinkExists(t, n.bridge) {
				t.Errorf("veth %s or bridge %s left on the host", res.hostIfName(), n.bridge)
			}
			if recs := n.records(t); len(recs) > 0 {
				t.Errorf("records left: %v", recs)
			}
		})
	}
}

// TestLog checks that a successful ADD writes nothing on stderr, which
// runtimes show their users, and that the log, with the labels the plugin
// records, reaches them when the plugin's log variable asks for it.
func TestLog(t *testing.T) {
	nstest.RequireRoot(t)
	n := newNetwork(t, "1.1.0", obj(t, `{"args": {"cni": {"ips": ["198.18.38.5/24"], "labels": [{"key": "app", "value": "web"}]}}}`))
	ns := nstest.NewNetns(t)
	for _, env := range []string{"", logEnv + "=info"} {
		r := n.cnitool(t, "add", ns, env)
		if r.code != 0 {
			t.Fatalf("cnitool add: %s", r)
		}
		logged := strings.Contains(r.stderr, "msg=attached") && strings.Contains(r.stderr, "labels.app=web")
		if env == "" && r.stderr != "" || env != "" && !logged {
			t.Errorf("with %q, cnitool's stderr:\n%s", env, r.stderr)
		}
		if r := n.cnitool(t, "del", ns); r.code != 0 {
			t.Errorf("cnitool del: %s", r)
		}
	}
}

// TestPortMappings publishes a port from each place a runtime puts it, the
// portMappings capability and args.cni.port_mappings, and checks it from a
// namespace outside the host; ipMasq NATs the container's own traffic.
// CHECK verifies the ports, and DEL withdraws them.
func TestPortMappings(t *testing.T) {
	nstest.RequireRoot(t)
	out := nstest.NewOutside(t, "")
	nstest.Serve(t, out, "tcp", 5000)
	for _, tc := range []struct {
		name, plugin string
		env          []string
	}{
		{"capability", `{"capabilities": {"portMappings": true}}`,
			[]string{`CAP_ARGS={"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}`}},
		{"args.cni.port_mappings", `{"args": {"cni": {"port_mappings": [{"host_port": 8080, "container_port": 80, "protocol": "tcp"}]}}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys := obj(t, tc.plugin)
			keys["isDefaultGateway"] = true
			keys["ipMasq"] = true
			n := newNetwork(t, "1.1.0", keys)
			ns := nstest.NewNetns(t)
			nstest.Serve(t, ns, "tcp", 80)
			env := append([]string{"CNI_ARGS=IP=198.18.45.5/24"}, tc.env...)
			if r := n.cnitool(t, "add", ns, env...); r.code != 0 {
				t.Fatalf("cnitool add: %s", r)
			}
			if peer, err := nstest.Probe(out, "tcp", nstest.HostV4+":8080", time.Second); err != nil || peer != nstest.OutsideV4 {
				t.Errorf("outside to the published port: %q, %v; want an answer to %s", peer, err, nstest.OutsideV4)
			}
			if peer, err := nstest.Probe(ns, "tcp", nstest.OutsideV4+":5000", time.Second); err != nil || peer != nstest.HostV4 {
				t.Errorf("container to outside: seen as %q, %v; want masqueraded to %s", peer, err, nstest.HostV4)
			}
			if r := n.cnitool(t, "check", ns, env...); r.code != 0 {
				t.Errorf("cnitool check: %s", r)
			}
			// Without the rules, CHECK fails, naming the port, and DEL
			// still succeeds.
			dropTable(t)
			if r := n.cnitool(t, "check", ns, env...); r.code == 0 || !strings.Contains(r.stderr, "is missing from table inet "+driver) {
				t.Errorf("cnitool check without the firewall's table: %s", r)
			}
			if r := n.cnitool(t, "del", ns, env...); r.code != 0 {
				t.Fatalf("cnitool del: %s", r)
			}
			if _, err := nstest.Probe(out, "tcp", nstest.HostV4+":8080", 300*time.Millisecond); err == nil {
				t.Error("the port answers after DEL")
			}
		})
	}
}

// dropTable deletes the plugin's nftables table, as nft flush ruleset or a
// reboot would.
func dropTable(t *testing.T) {
	t.Helper()
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	conn.DelTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: driver})
	if err := conn.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestHostLocal chains the plugin with the reference host-local IPAM plugin:
// allocation, a requested address passed through, a refused second ADD,
// GC with valid attachments, then cnitool's GC of everything.
func TestHostLocal(t *testing.T) {
	nstest.RequireRoot(t)
	tool(t, hostLocalPkg)
	n := newNetwork(t, "1.1.0", obj(t, `{"isGateway": true, "isDefaultGateway": true, "capabilities": {"ips": true},
		"ipam": {"type": "host-local", "ranges": [[{"subnet": "198.18.40.0/24"}], [{"subnet": "2001:db8:40::/64"}]]}}`))
	ipamDir := filepath.Join(n.plugin["ipam"].(map[string]any)["dataDir"].(string), n.name)
	reserved := func() []string {
		files, _ := filepath.Glob(filepath.Join(ipamDir, "*"))
		var ips []string
		for _, f := range files {
			if name := filepath.Base(f); !strings.HasPrefix(name, "last_reserved_ip") && name != "lock" {
				ips = append(ips, name)
			}
		}
		return ips
	}

	nsA, nsB := nstest.NewNetns(t), nstest.NewNetns(t)
	a := n.add(t, nsA)
	if len(a.IPs) != 2 || !netip.MustParsePrefix("198.18.40.0/24").Contains(a.IPs[0].Address.Addr()) ||
		a.IPs[0].Gateway != netip.MustParseAddr("198.18.40.1") {
		t.Fatalf("result ips = %+v, want an address of 198.18.40.0/24 via 198.18.40.1, and an IPv6 one", a.IPs)
	}
	st := inNetns(t, nsA, "eth0")
	if !slices.Equal(st.addresses, a.addresses()) || !slices.Contains(st.gateways, netip.MustParseAddr("198.18.40.1")) {
		t.Errorf("eth0 in A: %+v, want %v and a default route via 198.18.40.1", st, a.addresses())
	}
	if r := n.cnitool(t, "check", nsA); r.code != 0 {
		t.Errorf("cnitool check: %s", r)
	}

	// A second ADD of the same container and interface fails, and leaves the
	// first as it was.
	r := n.cnitool(t, "add", nsA)
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "attachment exists") {
		t.Errorf("second cnitool add: %s\nwant a failure saying the attachment exists", r)
	}
	if r := n.cnitool(t, "check", nsA); r.code != 0 {
		t.Errorf("cnitool check after the refused ADD: %s", r)
	}
	if got := len(reserved()); got != 2 {
		t.Errorf("host-local holds %d addresses, want A's 2", got)
	}

	// host-local honours a requested address, as it reads runtimeConfig.ips
	// itself.
	b := n.add(t, nsB, `CAP_ARGS={"ips": ["198.18.40.77/24"]}`)
	if b.IPs[0].Address != netip.MustParsePrefix("198.18.40.77/24") {
		t.Errorf("B got %v, want the requested 198.18.40.77/24", b.addresses())
	}

	// GC with A valid removes B: its veth pair, its record, its addresses.
	valid := map[string]any{"cni.dev/valid-attachments": []map[string]string{
		{"containerID": containerID(nsA), "ifname": "eth0"},
	}}
	if r := n.exec(t, "GC", valid); r.code != 0 {
		t.Fatalf("GC: %s", r)
	}
	if inNetns(t, nsB, "eth0").exists || nstest.LinkExists(t, b.hostIfName()) {
		t.Error("GC left B's veth pair")
	}
	if recs := n.records(t); !slices.Equal(recs, []string{a.hostIfName() + ".json"}) {
		t.Errorf("records after GC = %v, want A's alone", recs)
	}
	if ips := reserved(); len(ips) != 2 || slices.Contains(ips, "198.18.40.77") {
		t.Errorf("host-local holds %v after GC, want A's 2 addresses", ips)
	}
	if r := n.cnitool(t, "check", nsA); r.code != 0 {
		t.Errorf("cnitool check of A after GC: %s", r)
	}

	// cnitool's GC lists no attachment as valid: everything goes.
	if r := n.cnitool(t, "gc", nsA); r.code != 0 {
		t.Fatalf("cnitool gc: %s", r)
	}
	if inNetns(t, nsA, "eth0").exists || nstest.LinkExists(t, a.hostIfName()) || nstest.LinkExists(t, n.bridge) {
		t.Error("cnitool gc left A's veth pair or the bridge")
	}
	if recs, ips := n.records(t), reserved(); len(recs) > 0 || len(ips) > 0 {
		t.Errorf("after cnitool gc: records %v, addresses %v; want none", recs, ips)
	}
	if r := n.cnitool(t, "del", nsA); r.code != 0 {
		t.Errorf("cnitool del after gc: %s", r)
	}
}

// TestGCUnreadableRecord checks that GC removes the veth pair of a record
// that cannot be read: its file name is the host end's name.
func TestGCUnreadableRecord(t *testing.T) {
	nstest.RequireRoot(t)
	n := newNetwork(t, "1.1.0", obj(t, `{"args": {"cni": {"ips": ["198.18.41.5/24"]}}}`))
	ns := nstest.NewNetns(t)
	res := n.add(t, ns)
	path := filepath.Join(n.dataDir, n.name, res.hostIfName()+".json")
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := n.exec(t, "GC", obj(t, `{"cni.dev/valid-attachments": []}`), logEnv+"=warn")
	if r.code != 0 {
		t.Fatalf("GC: %s", r)
	}
	// The corrupt record is kept aside, for its owner to read.
	aside := res.hostIfName() + ".json.corrupt-"
	if recs := n.records(t); nstest.LinkExists(t, res.hostIfName()) || len(recs) != 1 || !strings.HasPrefix(recs[0], aside) {
		t.Errorf("GC left veth %s, or records %v; want only %s*", res.hostIfName(), recs, aside)
	}
	if !strings.Contains(r.stderr, "unreadable record") {
		t.Errorf("GC did not log the unreadable record: %s", r.stderr)
	}
	if r := n.cnitool(t, "del", ns); r.code != 0 {
		t.Errorf("cnitool del: %s", r)
	}
}

// TestVersions runs every supported spec version through cnitool: the
// result comes in the configuration's version, and CHECK, STATUS and GC
// work from the versions that have them.
func TestVersions(t *testing.T) {
	nstest.RequireRoot(t)
	for i, v := range []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"} {
		t.Run(v, func(t *testing.T) {
			addr := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(50 + i), 5}), 24)
			n := newNetwork(t, v, obj(t, `{"isGateway": true, "args": {"cni": {"ips": ["`+addr.String()+`"]}}}`))
			ns := nstest.NewNetns(t)
			res := n.add(t, ns)
			if got := res.addresses(); !slices.Equal(got, []netip.Prefix{addr}) {
				t.Errorf("addresses = %v, want %s", got, addr)
			}
			if v != "0.3.0" && v != "0.3.1" {
				if r := n.cnitool(t, "check", ns); r.code != 0 {
					t.Errorf("cnitool check: %s", r)
				}
			}
			if v == "1.1.0" {
				if r := n.cnitool(t, "status", ns); r.code != 0 {
					t.Errorf("cnitool status: %s", r)
				}
			}
			if r := n.cnitool(t, "del", ns); r.code != 0 {
				t.Errorf("cnitool del: %s", r)
			}
			if nstest.LinkExists(t, res.hostIfName()) || len(n.records(t)) > 0 {
				t.Error("del left the veth or the record")
			}
		})
	}
}
