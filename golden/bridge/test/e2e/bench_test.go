package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"text/tabwriter"
	"time"

	"example.com/demo/internal/firewall"
	"example.com/demo/internal/nstest"
	"example.com/demo/internal/protocol"
)

// Targets of the benchmark, as ratios of medians measured in one run.
const (
	// Without published ports: the plugin's setup+teardown cycle against
	// netavark's built-in bridge with its firewall off.
	maxRatioToBuiltin = 1.1
	// With one published port per container: against the built-in bridge
	// with its nftables firewall, cold, warm and with loadedContainers
	// attached.
	maxRatioFirewallCold   = 0.7
	maxRatioFirewallWarm   = 0.7
	maxRatioFirewallLoaded = 0.45
	// The cycle with loadedContainers attached against the warm cycle: the
	// cost must not grow with the containers on the host.
	maxRatioLoaded   = 1.5
	loadedContainers = 100
	// The firewall step alone with stepOthers[len-1] other containers'
	// ports present, against none.
	maxRatioStep = 1.5
)

// stepOthers are the numbers of other containers' ports present while the
// firewall step is timed.
var stepOthers = []int{0, 100, 1000}

// variant is one driver measured by the benchmark.
type variant struct {
	name    string
	network protocol.Network
	// env is netavark's environment for the variant: its firewall driver.
	env []string
	// ports publishes a port for every container.
	ports bool
	next  int // number of the next container
}

// benchRounds returns BENCH_ROUNDS (default 30), or skips the test unless
// BENCH=1: the benchmarks run with make bench.
func benchRounds(t *testing.T) int {
	if os.Getenv("BENCH") != "1" {
		t.Skip("benchmark: run with make bench (BENCH=1)")
	}
	rounds := 30
	if s := os.Getenv("BENCH_ROUNDS"); s != "" {
		var err error
		if rounds, err = strconv.Atoi(s); err != nil || rounds < 1 {
			t.Fatalf("BENCH_ROUNDS=%q: want a positive number", s)
		}
	}
	return rounds
}

// TestBench measures, interleaved in one run through the same netavark, the
// median wall time of a full setup+teardown cycle of: this plugin,
// netavark's built-in bridge and a plugin that only answers (the floor: the
// execs alone). It does so twice: without published ports, netavark's
// firewall off (NETAVARK_FW=none), and with one published port per
// container, netavark's nftables firewall on (NETAVARK_FW=nftables). Each
// is measured cold (the container is the network's only one: its bridge and
// rules come and go), warm (one other container) and with 100 others.
// BENCH_ENFORCE=1 fails the test when a target is missed.
func TestBench(t *testing.T) {
	rounds := benchRounds(t)
	nv := nstest.Netavark(t)
	if err := nstest.Build(filepath.Join(pluginDir, "noop"), "./testdata/noop"); err != nil {
		t.Fatal(err)
	}
	enforce := os.Getenv("BENCH_ENFORCE") == "1"

	plain := benchSuite(t, nv, rounds, "without published ports, netavark's firewall off", []*variant{
		{name: driver, network: benchNetwork(t, driver, "10.240.0.0/16")},
		{name: "built-in bridge", network: benchNetwork(t, "bridge", "10.241.0.0/16"), env: []string{"NETAVARK_FW=none"}},
		{name: "floor (noop plugin)", network: benchNetwork(t, "noop", "10.242.0.0/16")},
	})
	for _, c := range []struct {
		state string
		got   float64
	}{{"cold", ratio(plain.cold[0], plain.cold[1])}, {"warm", ratio(plain.warm[0], plain.warm[1])}} {
		if enforce && c.got > maxRatioToBuiltin {
			t.Errorf("%s cycle without published ports %.2fx the built-in bridge, target %.2fx", c.state, c.got, maxRatioToBuiltin)
		}
	}
	if _, err := exec.LookPath("nft"); err != nil {
		nstest.SkipOrFail(t, "netavark's nftables firewall runs the nft binary: apt-get install nftables")
	}
	fw := benchSuite(t, nv, rounds, "one published port per container, netavark's nftables firewall", []*variant{
		{name: driver, network: benchNetwork(t, driver, "10.243.0.0/16"), ports: true},
		{name: "built-in bridge", network: benchNetwork(t, "bridge", "10.244.0.0/16"), env: []string{"NETAVARK_FW=nftables"}, ports: true},
		{name: "floor (noop plugin)", network: benchNetwork(t, "noop", "10.245.0.0/16"), ports: true},
	})
	if !enforce {
		return
	}
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"cold cycle with a published port, to the built-in bridge's", ratio(fw.cold[0], fw.cold[1]), maxRatioFirewallCold},
		{"warm cycle with a published port, to the built-in bridge's", ratio(fw.warm[0], fw.warm[1]), maxRatioFirewallWarm},
		{fmt.Sprintf("cycle with %d attached, to the built-in bridge's", loadedContainers), ratio(fw.loaded[0], fw.loaded[1]), maxRatioFirewallLoaded},
		{fmt.Sprintf("cycle with %d attached, to its warm cycle", loadedContainers), ratio(fw.loaded[0], fw.warm[0]), maxRatioLoaded},
	} {
		if c.got > c.want {
			t.Errorf("%s: %.2fx, target %.2fx", c.what, c.got, c.want)
		}
	}
}

// medians are a suite's median cycles, one per variant in each state.
type medians struct {
	cold, warm, loaded []time.Duration
}

// benchSuite measures the variants in the three states and prints a table.
func benchSuite(t *testing.T, nv string, rounds int, title string, variants []*variant) medians {
	t.Helper()
	// cycle times one setup+teardown of a new container of v.
	cycle := func(v *variant) time.Duration {
		ns := nstest.NewNetns(t)
		in := v.container()
		start := time.Now()
		if res := runNetavark(t, nv, "setup", ns, in, pluginDir, v.env...); res.code != 0 {
			t.Fatalf("%s setup: exit %d: %s %s", v.name, res.code, res.stdout, res.stderr)
		}
		if res := runNetavark(t, nv, "teardown", ns, in, pluginDir, v.env...); res.code != 0 {
			t.Fatalf("%s teardown: exit %d: %s %s", v.name, res.code, res.stdout, res.stderr)
		}
		d := time.Since(start)
		nstest.DeleteNetns(t, ns)
		return d
	}
	// measure runs rounds of one cycle of each variant, in a rotating order
	// so that no variant always runs first, and returns the medians.
	measure := func() []time.Duration {
		samples := make([][]time.Duration, len(variants))
		for r := range rounds {
			for i := range variants {
				k := (i + r) % len(variants)
				samples[k] = append(samples[k], cycle(variants[k]))
			}
		}
		out := make([]time.Duration, len(variants))
		for i, s := range samples {
			out[i] = median(s)
		}
		return out
	}
	// attach keeps n more containers of every variant attached until the
	// end of the test.
	attach := func(n int) {
		for _, v := range variants {
			for range n {
				ns := nstest.NewNetns(t)
				in := v.container()
				if res := runNetavark(t, nv, "setup", ns, in, pluginDir, v.env...); res.code != 0 {
					t.Fatalf("%s setup: exit %d: %s %s", v.name, res.code, res.stdout, res.stderr)
				}
				t.Cleanup(func() { runNetavark(t, nv, "teardown", ns, in, pluginDir, v.env...) })
			}
		}
	}

	var m medians
	m.cold = measure()
	attach(1)
	m.warm = measure()
	attach(loadedContainers - 1)
	m.loaded = measure()

	fmt.Printf("\n%s: setup+teardown, median of %d rounds\n", title, rounds)
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(w, "\t")
	for _, v := range variants {
		fmt.Fprintf(w, "%s\t", v.name)
	}
	fmt.Fprintf(w, "%s / built-in\t\n", driver)
	for _, row := range []struct {
		state   string
		medians []time.Duration
	}{
		{"cold (bridge created and removed)", m.cold},
		{"warm (1 other container)", m.warm},
		{fmt.Sprintf("warm, %d containers", loadedContainers), m.loaded},
	} {
		fmt.Fprintf(w, "%s\t", row.state)
		for _, d := range row.medians {
			fmt.Fprintf(w, "%.1f ms\t", ms(d))
		}
		fmt.Fprintf(w, "%.2fx\t\n", ratio(row.medians[0], row.medians[1]))
	}
	w.Flush()
	fmt.Printf("%s with %d containers attached / warm: %.2fx\n", driver, loadedContainers, ratio(m.loaded[0], m.warm[0]))
	return m
}

// TestBenchFirewallStep times the firewall step alone, as a plugin pays it:
// a program exec'd to add one container's published port, and again to
// remove it (testdata/fwstep, over package firewall), with 0, 100 and 1000
// other containers' ports in the table. BENCH_ENFORCE=1 fails the test if
// the step with the most others costs more than maxRatioStep times the step
// with none.
func TestBenchFirewallStep(t *testing.T) {
	rounds := benchRounds(t)
	nstest.RequireRoot(t)
	bin := filepath.Join(t.TempDir(), "fwstep")
	if err := nstest.Build(bin, "./testdata/fwstep"); err != nil {
		t.Fatal(err)
	}
	fw := &firewall.Firewall{Table: driver, LockDir: t.TempDir()}
	network := firewall.Network{Name: "bench", Bridge: "fwbench0", Subnets: []netip.Prefix{netip.MustParsePrefix("10.246.0.0/16")}}
	step := func(op string) time.Duration {
		cmd := exec.Command(bin, op, fw.Table, fw.LockDir)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("fwstep %s: %v\n%s", op, err, out)
		}
		return time.Since(start)
	}
	present := 0
	var results [][3]time.Duration // add, remove, both, per stepOthers
	for _, others := range stepOthers {
		for ; present < others; present++ {
			ip := netip.AddrFrom4([4]byte{10, 246, byte(1 + present/250), byte(1 + present%250)})
			c := firewall.Container{ID: fmt.Sprintf("%016x", present), Name: fmt.Sprintf("other%d", present), Addresses: []netip.Addr{ip},
				Ports: []firewall.Port{{Protocol: firewall.TCP, HostPort: uint16(30000 + present), ContainerPort: 80, Range: 1}}}
			if err := fw.Add(network, c); err != nil {
				t.Fatal(err)
			}
		}
		var adds, removes, both []time.Duration
		for range rounds {
			a, r := step("add"), step("remove")
			adds, removes, both = append(adds, a), append(removes, r), append(both, a+r)
		}
		results = append(results, [3]time.Duration{median(adds), median(removes), median(both)})
	}
	if err := fw.Remove(network, firewall.Container{}, true); err != nil {
		t.Fatal(err)
	}

	fmt.Printf("\nfirewall step of one container (exec'd, one published port), median of %d rounds\n", rounds)
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(w, "other containers' ports\tadd\tremove\tadd+remove\t/ none\t\n")
	for i, others := range stepOthers {
		r := results[i]
		fmt.Fprintf(w, "%d\t%.1f ms\t%.1f ms\t%.1f ms\t%.2fx\t\n", others, ms(r[0]), ms(r[1]), ms(r[2]), ratio(r[2], results[0][2]))
	}
	w.Flush()
	if r := ratio(results[len(results)-1][2], results[0][2]); os.Getenv("BENCH_ENFORCE") == "1" && r > maxRatioStep {
		t.Errorf("firewall step with %d others: %.2fx the step with none, target %.2fx", stepOthers[len(stepOthers)-1], r, maxRatioStep)
	}
}

// benchNetwork is a network of driver on subnet with a bridge of its own.
func benchNetwork(t *testing.T, driver, subnet string) protocol.Network {
	n := testNetwork(t, subnet)
	n.Driver = driver
	return n
}

// container returns netavark's input for a new container of v, with the
// next free address of its subnet and, with v.ports, a host port of its
// own.
func (v *variant) container() protocol.NetavarkOptions {
	v.next++
	base := v.network.Subnets[0].Subnet.Addr().As4()
	ip := netip.AddrFrom4([4]byte{base[0], base[1], byte(2 + v.next/250), byte(1 + v.next%250)})
	in := container(v.network, ip.String())
	if v.ports {
		in.PortMappings = []protocol.PortMapping{{HostPort: uint16(20000 + v.next), ContainerPort: 80, Range: 1, Protocol: "tcp"}}
	}
	return in
}

func median(s []time.Duration) time.Duration {
	s = slices.Clone(s)
	slices.Sort(s)
	return s[len(s)/2]
}

func ratio(a, b time.Duration) float64 {
	return float64(a) / float64(b)
}

func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
