package cnitool

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"text/tabwriter"
	"time"

	"example.com/demo/internal/nstest"
)

// maxRatioToReference is the target: an ADD+DEL cycle of this plugin takes
// at most this many times the reference bridge plugin's.
const maxRatioToReference = 1.1

// benchVariant is one plugin measured by the benchmark.
type benchVariant struct {
	name    string
	network *network
	next    int
	add     []time.Duration
	del     []time.Duration
	cycle   []time.Duration
}

// TestBenchCNI measures, interleaved in one run, the median wall time of an
// ADD and a DEL of this plugin and of the reference bridge plugin of
// containernetworking/plugins, each run directly as a runtime runs it, both
// with host-local IPAM, in the same kind of network: no gateway (the
// reference plugin would turn on IP forwarding on the host), a bridge that
// another container keeps (the reference plugin never deletes its bridge,
// this one deletes it with its last port). Run it with `make bench-cni`;
// BENCH_ROUNDS sets the rounds (default 30), BENCH_ENFORCE=1 fails the
// test when the target is missed.
func TestBenchCNI(t *testing.T) {
	if os.Getenv("BENCH") != "1" {
		t.Skip("benchmark: run with make bench-cni (BENCH=1)")
	}
	nstest.RequireRoot(t)
	rounds := 30
	if s := os.Getenv("BENCH_ROUNDS"); s != "" {
		var err error
		if rounds, err = strconv.Atoi(s); err != nil || rounds < 1 {
			t.Fatalf("BENCH_ROUNDS=%q: want a positive number", s)
		}
	}
	tool(t, hostLocalPkg)
	tool(t, bridgePkg)
	benchNetwork := func(typ, subnet string) *network {
		return newNetwork(t, "1.1.0", obj(t, `{"type": "`+typ+`",
			"ipam": {"type": "host-local", "ranges": [[{"subnet": "`+subnet+`"}]]}}`))
	}
	variants := []*benchVariant{
		{name: pluginType, network: benchNetwork(pluginType, "198.18.128.0/17")},
		{name: "reference bridge", network: benchNetwork("bridge", "198.19.128.0/17")},
	}

	// One container of each stays attached, so that no cycle creates or
	// deletes a bridge.
	for _, v := range variants {
		ns := nstest.NewNetns(t)
		env := v.env(ns)
		if r := v.network.exec(t, "ADD", nil, env...); r.code != 0 {
			t.Fatalf("%s ADD: %s", v.name, r)
		}
		t.Cleanup(func() { v.network.exec(t, "DEL", nil, env...) })
	}
	for r := range rounds {
		// A rotating order, so that no variant always runs first.
		for i := range variants {
			variants[(i+r)%len(variants)].measure(t)
		}
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "median of %d rounds\tADD\tDEL\tADD+DEL\t\n", rounds)
	for _, v := range variants {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t\n", v.name, ms(median(v.add)), ms(median(v.del)), ms(median(v.cycle)))
	}
	w.Flush()
	ratio := float64(median(variants[0].cycle)) / float64(median(variants[1].cycle))
	fmt.Printf("%s / reference bridge, ADD+DEL: %.2fx (target %.1fx)\n", pluginType, ratio, maxRatioToReference)
	if os.Getenv("BENCH_ENFORCE") == "1" && ratio > maxRatioToReference {
		t.Errorf("ADD+DEL cycle %.2fx the reference bridge plugin's, target %.1fx", ratio, maxRatioToReference)
	}
}

// env returns the CNI environment of a new container of v in netns ns.
func (v *benchVariant) env(ns string) []string {
	v.next++
	return []string{"CNI_CONTAINERID=" + fmt.Sprintf("bench%d", v.next), "CNI_NETNS=" + ns, "CNI_IFNAME=eth0"}
}

// measure times one ADD and one DEL of a new container of v; making and
// removing its netns is not timed.
func (v *benchVariant) measure(t *testing.T) {
	ns := nstest.NewNetns(t)
	env := v.env(ns)
	start := time.Now()
	if r := v.network.exec(t, "ADD", nil, env...); r.code != 0 {
		t.Fatalf("%s ADD: %s", v.name, r)
	}
	added := time.Now()
	if r := v.network.exec(t, "DEL", nil, env...); r.code != 0 {
		t.Fatalf("%s DEL: %s", v.name, r)
	}
	end := time.Now()
	nstest.DeleteNetns(t, ns)
	v.add = append(v.add, added.Sub(start))
	v.del = append(v.del, end.Sub(added))
	v.cycle = append(v.cycle, end.Sub(start))
}

func median(s []time.Duration) time.Duration {
	s = slices.Clone(s)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
