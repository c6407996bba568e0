package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/nftables"

	"example.com/demo/internal/nstest"
)

// These tests change the nftables ruleset of the test binary's own network
// namespace (nstest.Main), never the host's.

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// testFirewall returns a Firewall with a table of its own, and checks at
// cleanup that the test left no table behind.
func testFirewall(t *testing.T) *Firewall {
	t.Helper()
	nstest.RequireRoot(t)
	f := &Firewall{Table: nstest.UniqueName("fwt"), LockDir: t.TempDir()}
	t.Cleanup(func() {
		if tableExists(t, f.Table) {
			t.Errorf("table inet %s left behind", f.Table)
			conn, _ := nftables.New()
			conn.DelTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: f.Table})
			conn.Flush()
		}
	})
	return f
}

func tableExists(t *testing.T, name string) bool {
	t.Helper()
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.ListTableOfFamily(name, nftables.TableFamilyINet)
	return err == nil
}

// state is what the table holds: the number of rules of each chain and the
// elements of each set, as "key comment -> value" strings.
type state struct {
	rules    map[string]int
	elements map[string][]string
}

func readState(t *testing.T, f *Firewall) state {
	t.Helper()
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tbl := &nftables.Table{Family: nftables.TableFamilyINet, Name: f.Table}
	st := state{rules: map[string]int{}, elements: map[string][]string{}}
	chains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chains {
		if ch.Table.Name != f.Table {
			continue
		}
		rules, err := conn.GetRules(tbl, ch)
		if err != nil {
			t.Fatal(err)
		}
		st.rules[ch.Name] = len(rules)
	}
	sets, err := conn.GetSets(tbl)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		els, err := conn.GetSetElements(s)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range els {
			v := fmt.Sprintf("%x", e.Val)
			if e.VerdictData != nil {
				v = e.VerdictData.Chain
			}
			out = append(out, fmt.Sprintf("%x %s -> %s", e.Key, e.Comment, v))
		}
		slices.Sort(out)
		st.elements[s.Name] = out
	}
	return st
}

func (s state) count(set string) int { return len(s.elements[set]) }

var (
	dualStack = Network{Name: "web", Bridge: "fwt-br0", Subnets: prefixes("10.99.0.0/24", "fd99::/64"), Isolate: Isolate}
	web1      = Container{ID: "0123456789abcdef", Name: "web1", Addresses: addrs("10.99.0.2", "fd99::2"), Ports: []Port{
		{Protocol: TCP, HostPort: 8080, ContainerPort: 80, Range: 1},
		{Protocol: UDP, HostIP: netip.MustParseAddr("192.0.2.1"), HostPort: 9000, ContainerPort: 5000, Range: 3},
	}}
)

func TestAddRemove(t *testing.T) {
	f := testFirewall(t)
	if err := f.Add(dualStack, web1); err != nil {
		t.Fatal(err)
	}
	st := readState(t, f)
	for set, want := range map[string]int{"ports_v4": 1, "ports_v6": 1, "ports_v4_addr": 3, "ports_v6_addr": 0,
		"bridges": 1, "isolated": 1, "nat": 1, "hairpin": 1, "out": 1, "in": 1} {
		if got := st.count(set); got != want {
			t.Errorf("%s has %d elements, want %d: %v", set, got, want, st.elements[set])
		}
	}
	for _, e := range st.elements["ports_v4"] {
		if !strings.Contains(e, "web1 on web (container 0123456789ab)") {
			t.Errorf("element %s does not name its container", e)
		}
	}
	if n, m := st.rules["fwt-br0-nat"], st.rules["fwt-br0-hairpin"]; n != 2 || m != 2 {
		t.Errorf("chains fwt-br0-nat and -hairpin have %d and %d rules, want 2 each: one per subnet", n, m)
	}

	// Setup again, as a retried setup would: nothing doubles.
	if err := f.Add(dualStack, web1); err != nil {
		t.Fatal(err)
	}
	if again := readState(t, f); fmt.Sprint(again) != fmt.Sprint(st) {
		t.Errorf("a second Add changed the table:\n%v\nthen\n%v", st, again)
	}

	// A second container of the network, without ports.
	web2 := Container{ID: "fedcba9876543210", Name: "web2", Addresses: addrs("10.99.0.3")}
	if err := f.Add(dualStack, web2); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove(dualStack, web1, false); err != nil {
		t.Fatal(err)
	}
	st = readState(t, f)
	if n := st.count("ports_v4") + st.count("ports_v6") + st.count("ports_v4_addr"); n != 0 || st.count("bridges") != 1 {
		t.Errorf("after web1 left: %d port elements, %d networks; want 0 and 1", n, st.count("bridges"))
	}
	if err := f.Remove(dualStack, web2, true); err != nil {
		t.Fatal(err)
	}
	if tableExists(t, f.Table) {
		t.Error("table left after the last network's last container")
	}
	// Teardown is idempotent, with the table gone too.
	if err := f.Remove(dualStack, web2, true); err != nil {
		t.Errorf("Remove again: %v", err)
	}
}

// A host port another container publishes is refused with its name, and
// the failed Add changes nothing; the other container's teardown, which
// podman sends after a failed setup, removes nothing of the first's.
func TestPortOfAnotherContainer(t *testing.T) {
	f := testFirewall(t)
	if err := f.Add(dualStack, web1); err != nil {
		t.Fatal(err)
	}
	before := readState(t, f)
	other := Container{ID: "aaaaaaaaaaaaaaaa", Name: "other", Addresses: addrs("10.99.0.9"), Ports: []Port{
		{Protocol: TCP, HostPort: 7000, ContainerPort: 80, Range: 1},
		{Protocol: TCP, HostPort: 8080, ContainerPort: 80, Range: 1},
	}}
	err := f.Add(dualStack, other)
	if !errors.Is(err, ErrPortPublished) || !strings.Contains(err.Error(), "host port 8080/tcp on every IPv4 address is published by web1 on web (container 0123456789ab)") {
		t.Errorf("Add of a published port: %v", err)
	}
	if after := readState(t, f); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the refused Add changed the table:\n%v\nthen\n%v", before, after)
	}
	if err := f.Remove(dualStack, other, false); err != nil {
		t.Fatal(err)
	}
	if after := readState(t, f); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the other container's Remove changed the table:\n%v\nthen\n%v", before, after)
	}
	if err := f.Remove(dualStack, web1, true); err != nil {
		t.Fatal(err)
	}
}

// A container on two networks of the plugin gets the same port list for
// both: the first network publishes them, the second leaves them be.
func TestContainerOnTwoNetworks(t *testing.T) {
	f := testFirewall(t)
	second := Network{Name: "db", Bridge: "fwt-br1", Subnets: prefixes("10.98.0.0/24")}
	onSecond := web1
	onSecond.Addresses = addrs("10.98.0.2")
	if err := f.Add(dualStack, web1); err != nil {
		t.Fatal(err)
	}
	if err := f.Add(second, onSecond); err != nil {
		t.Fatalf("Add on the second network: %v", err)
	}
	st := readState(t, f)
	if st.count("bridges") != 2 || len(st.elements["ports_v4"]) != 1 || !strings.HasSuffix(st.elements["ports_v4"][0], "0a630002"+"00500000") {
		t.Errorf("networks %v, ports %v; want two networks and the port to the first network's address", st.elements["bridges"], st.elements["ports_v4"])
	}
	if err := f.Remove(second, onSecond, true); err != nil {
		t.Fatal(err)
	}
	if st := readState(t, f); st.count("ports_v4") != 1 || st.count("bridges") != 1 {
		t.Errorf("after leaving the second network: ports %v, networks %v", st.elements["ports_v4"], st.elements["bridges"])
	}
	if err := f.Remove(dualStack, web1, true); err != nil {
		t.Fatal(err)
	}
}

// Teardown succeeds when the rules are gone already: after a reboot, or
// nft flush ruleset.
func TestRemoveAfterFlush(t *testing.T) {
	f := testFirewall(t)
	if err := f.Add(dualStack, web1); err != nil {
		t.Fatal(err)
	}
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	conn.DelTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: f.Table})
	if err := conn.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, last := range []bool{false, true} {
		if err := f.Remove(dualStack, web1, last); err != nil {
			t.Errorf("Remove (last %v) without a table: %v", last, err)
		}
	}
}

// Check passes for what Add made and fails, naming the port, for a port
// that is gone.
func TestCheck(t *testing.T) {
	f := testFirewall(t)
	if err := f.Check(dualStack, web1); err == nil {
		t.Error("Check passed before Add")
	}
	if err := f.Add(dualStack, web1); err != nil {
		t.Fatal(err)
	}
	if err := f.Check(dualStack, web1); err != nil {
		t.Errorf("Check after Add: %v", err)
	}
	moved := web1
	moved.Ports = append(slices.Clone(web1.Ports), Port{Protocol: TCP, HostPort: 1234, ContainerPort: 1, Range: 1})
	if err := f.Check(dualStack, moved); err == nil || !strings.Contains(err.Error(), "host port 1234/tcp on every IPv4 address of web1 is not published") {
		t.Errorf("Check of an unpublished port: %v", err)
	}
	if err := f.Remove(dualStack, web1, true); err != nil {
		t.Fatal(err)
	}
}

// A range of 45536 ports, in two families, is one batch of 356 messages.
func TestLargeRange(t *testing.T) {
	f := testFirewall(t)
	c := web1
	c.Ports = []Port{{Protocol: UDP, HostPort: 20000, ContainerPort: 20000, Range: 65535 - 20000 + 1}}
	if err := f.Add(dualStack, c); err != nil {
		t.Fatal(err)
	}
	if st := readState(t, f); st.count("ports_v4") != 45536 || st.count("ports_v6") != 45536 {
		t.Errorf("ports: %d IPv4, %d IPv6; want 45536 each", st.count("ports_v4"), st.count("ports_v6"))
	}
	if err := f.Remove(dualStack, c, true); err != nil {
		t.Fatal(err)
	}
}

// Twenty containers on four networks, added and removed all at once:
// every port ends up published and nothing is left.
func TestConcurrent(t *testing.T) {
	f := testFirewall(t)
	const n = 20
	networks := make([]Network, 4)
	for i := range networks {
		networks[i] = Network{Name: fmt.Sprintf("n%d", i), Bridge: fmt.Sprintf("fwt-c%d", i),
			Subnets: prefixes(fmt.Sprintf("10.%d.0.0/24", 100+i)), Isolate: Isolation(i % 3)}
	}
	containers := make([]Container, n)
	for i := range containers {
		containers[i] = Container{ID: fmt.Sprintf("%016d", i), Name: fmt.Sprintf("c%d", i),
			Addresses: addrs(fmt.Sprintf("10.%d.0.%d", 100+i%4, 2+i)),
			Ports:     []Port{{Protocol: TCP, HostPort: uint16(10000 + i), ContainerPort: 80, Range: 1}}}
	}
	run := func(op func(int) error) {
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = op(i)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	run(func(i int) error { return f.Add(networks[i%4], containers[i]) })
	if st := readState(t, f); st.count("ports_v4") != n || st.count("bridges") != 4 || st.count("isolated") != 2 {
		t.Errorf("after %d Adds: %d ports, %d networks, %d isolated; want %d, 4, 2", n, st.count("ports_v4"), st.count("bridges"), st.count("isolated"), n)
	}
	// Each network's last container removes the network (the caller
	// would know it from its bridge): here, the last five.
	run(func(i int) error { return f.Remove(networks[i%4], containers[i], i >= n-4) })
	if tableExists(t, f.Table) {
		t.Error("table left after every container left")
	}
}

// Where Docker's DOCKER-USER chain exists, each network gets its accepts
// there, once however often it is set up, which iptables reads back, and
// they go with the network.
func TestDockerUser(t *testing.T) {
	f := testFirewall(t)
	iptables, err := exec.LookPath("iptables")
	if err != nil {
		nstest.SkipOrFail(t, "needs iptables (iptables-nft) to read the rules back as Docker does: apt-get install iptables")
	}
	for _, args := range [][]string{{"-N", "DOCKER-USER"}, {"-A", "DOCKER-USER", "-j", "RETURN"}} {
		if out, err := exec.Command(iptables, args...).CombinedOutput(); err != nil {
			t.Fatalf("iptables %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() {
		exec.Command(iptables, "-F", "DOCKER-USER").Run()
		exec.Command(iptables, "-X", "DOCKER-USER").Run()
	})
	for range 2 {
		if err := f.Add(dualStack, web1); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(iptables, "-S", "DOCKER-USER").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -S: %v\n%s", err, out)
	}
	want := fmt.Sprintf(`-N DOCKER-USER
-A DOCKER-USER -i fwt-br0 -m comment --comment "%[1]s: network web (bridge fwt-br0)" -j ACCEPT
-A DOCKER-USER -o fwt-br0 -m comment --comment "%[1]s: network web (bridge fwt-br0)" -j ACCEPT
-A DOCKER-USER -j RETURN
`, f.Table)
	if string(out) != want {
		t.Errorf("iptables -S DOCKER-USER:\n%s\nwant\n%s", out, want)
	}
	if out, err := exec.Command(iptables, "-C", "DOCKER-USER", "-j", "RETURN").CombinedOutput(); err != nil {
		t.Errorf("iptables -C, as Docker runs it at start: %v\n%s", err, out)
	}
	if err := f.Remove(dualStack, web1, true); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command(iptables, "-S", "DOCKER-USER").CombinedOutput(); string(out) != "-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n" {
		t.Errorf("after the network left, iptables -S DOCKER-USER:\n%s", out)
	}
}
