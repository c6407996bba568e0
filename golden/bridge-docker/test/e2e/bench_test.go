package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"text/tabwriter"
	"time"

	"example.com/demo/internal/nstest"
	"example.com/demo/internal/protocol"
)

// Targets of the benchmark: the plugin's setup+teardown cycle against
// netavark's built-in bridge, and the cycle with many containers attached
// against the warm cycle.
const (
	maxRatioToBuiltin = 1.1
	maxRatioLoaded    = 1.5
	loadedContainers  = 100
)

// variant is one driver measured by the benchmark.
type variant struct {
	name    string
	network protocol.Network
	next    int // last byte of the next container address
}

// TestBench measures, interleaved in one run through the same netavark, the
// median wall time of a full setup+teardown cycle of: this plugin, netavark's
// built-in bridge driver (NETAVARK_FW=none, same kind of subnet and
// addresses) and a plugin that only answers (the floor: the execs alone).
// Run it with `make bench`; BENCH_ROUNDS sets the rounds (default 30) and
// BENCH_ENFORCE=1 fails the test when a target is missed.
func TestBench(t *testing.T) {
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
	nv := nstest.Netavark(t)
	if err := buildPlugin(filepath.Join(pluginDir, "noop"), "./testdata/noop"); err != nil {
		t.Fatal(err)
	}
	variants := []*variant{
		{name: driver, network: benchNetwork(t, driver, "10.240.0.0/16")},
		{name: "built-in bridge", network: benchNetwork(t, "bridge", "10.241.0.0/16")},
		{name: "floor (noop plugin)", network: benchNetwork(t, "noop", "10.242.0.0/16")},
	}

	// cycle times one setup+teardown of a new container of v.
	cycle := func(v *variant) time.Duration {
		ns := nstest.NewNetns(t)
		in := v.container()
		start := time.Now()
		if res := runNetavark(t, nv, "setup", ns, in, pluginDir); res.code != 0 {
			t.Fatalf("%s setup: exit %d: %s %s", v.name, res.code, res.stdout, res.stderr)
		}
		if res := runNetavark(t, nv, "teardown", ns, in, pluginDir); res.code != 0 {
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
		medians := make([]time.Duration, len(variants))
		for i, s := range samples {
			medians[i] = median(s)
		}
		return medians
	}
	// attach keeps n more containers of every variant attached until the
	// end of the test.
	attach := func(n int) {
		for _, v := range variants {
			for range n {
				ns := nstest.NewNetns(t)
				in := v.container()
				if res := runNetavark(t, nv, "setup", ns, in, pluginDir); res.code != 0 {
					t.Fatalf("%s setup: exit %d: %s %s", v.name, res.code, res.stdout, res.stderr)
				}
				t.Cleanup(func() { runNetavark(t, nv, "teardown", ns, in, pluginDir) })
			}
		}
	}

	cold := measure()
	attach(1)
	warm := measure()
	attach(loadedContainers - 1)
	loaded := measure()

	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "setup+teardown, median of %d rounds\t", rounds)
	for _, v := range variants {
		fmt.Fprintf(w, "%s\t", v.name)
	}
	fmt.Fprintf(w, "%s / built-in\t\n", driver)
	type row struct {
		state   string
		medians []time.Duration
	}
	for _, row := range []row{
		{state: "cold (bridge created and removed)", medians: cold},
		{state: "warm (1 other container)", medians: warm},
		{state: fmt.Sprintf("warm, %d containers", loadedContainers), medians: loaded},
	} {
		fmt.Fprintf(w, "%s\t", row.state)
		for _, m := range row.medians {
			fmt.Fprintf(w, "%.1f ms\t", float64(m.Microseconds())/1000)
		}
		fmt.Fprintf(w, "%.2fx\t\n", ratio(row.medians[0], row.medians[1]))
	}
	w.Flush()
	fmt.Printf("%s with %d containers attached / warm: %.2fx\n", driver, loadedContainers, ratio(loaded[0], warm[0]))

	if os.Getenv("BENCH_ENFORCE") == "1" {
		if r := ratio(cold[0], cold[1]); r > maxRatioToBuiltin {
			t.Errorf("cold cycle %.2fx the built-in bridge, target %.1fx", r, maxRatioToBuiltin)
		}
		if r := ratio(warm[0], warm[1]); r > maxRatioToBuiltin {
			t.Errorf("warm cycle %.2fx the built-in bridge, target %.1fx", r, maxRatioToBuiltin)
		}
		if r := ratio(loaded[0], warm[0]); r > maxRatioLoaded {
			t.Errorf("cycle with %d attached %.2fx the warm cycle, target %.1fx", loadedContainers, r, maxRatioLoaded)
		}
	}
}

// benchNetwork is a network of driver on subnet with a bridge of its own.
func benchNetwork(t *testing.T, driver, subnet string) protocol.Network {
	n := testNetwork(t, subnet)
	n.Driver = driver
	return n
}

// container returns netavark's input for a new container of v, with the
// next free address of its subnet.
func (v *variant) container() protocol.NetavarkOptions {
	v.next++
	base := v.network.Subnets[0].Subnet.Addr().As4()
	ip := netip.AddrFrom4([4]byte{base[0], base[1], byte(2 + v.next/250), byte(1 + v.next%250)})
	return container(v.network, ip.String())
}

func median(s []time.Duration) time.Duration {
	s = slices.Clone(s)
	slices.Sort(s)
	return s[len(s)/2]
}

func ratio(a, b time.Duration) float64 {
	return float64(a) / float64(b)
}
