package check

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// TestPlugins runs the suite on the plugins in testdata/plugins: the good
// one passes, and each broken one fails the case of the rule it breaks, and
// only the cases of that rule.
func TestPlugins(t *testing.T) {
	dir := buildPlugins(t, t.TempDir())
	t.Run("good", func(t *testing.T) { testGood(t, filepath.Join(dir, "good")) })
	t.Run("broken", func(t *testing.T) { testBroken(t, dir) })
}

// The groups of cases that each kind of run holds.
var (
	plainGroups    = []string{"info", "create", "error"}
	netnsGroups    = append(slices.Clip(plainGroups), "netns", "ports")
	netavarkGroups = append(slices.Clip(plainGroups), "netavark")
)

// testGood checks that the good plugin passes every case, without and with
// the setup and teardown cycles.
func testGood(t *testing.T, plugin string) {
	t.Run("plain", func(t *testing.T) {
		wantAll(t, mustRun(t, Config{Plugin: plugin}), plainGroups, nil)
	})
	t.Run("netns", func(t *testing.T) {
		requireRoot(t)
		// It refuses port mappings, which it could not publish: the cases
		// that need a published port skip.
		refused := []string{"ports/reachable", "ports/teardown", "ports/withdrawn"}
		r := mustRun(t, Config{Plugin: plugin, Netns: true})
		wantAll(t, r, netnsGroups, refused)
		for _, c := range r.Cases {
			if c.Status == Skip && !strings.Contains(c.Reason, "refused port mappings") {
				t.Errorf("%s skipped: %s", c.Name, c.Reason)
			}
		}
	})
	t.Run("netavark", func(t *testing.T) {
		requireRoot(t)
		wantAll(t, mustRun(t, Config{Plugin: plugin, Netavark: findNetavark(t)}), netavarkGroups, nil)
	})
}

// mustRun runs the suite with cfg.
func mustRun(t *testing.T, cfg Config) *Report {
	t.Helper()
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantAll checks that r holds cases of exactly the groups named (the part
// of a case's name before its first slash), and that each passed, except
// those named in skipped, which skipped.
func wantAll(t *testing.T, r *Report, groups, skipped []string) {
	t.Helper()
	seen := make(map[string]bool)
	for _, c := range r.Cases {
		group, _, _ := strings.Cut(c.Name, "/")
		seen[group] = true
		want := Pass
		if slices.Contains(skipped, c.Name) {
			want = Skip
		}
		if c.Status != want {
			logReport(t, r)
			t.Fatalf("%s: %s %s, want %s", c.Name, c.Status, c.Reason, want)
		}
	}
	got := slices.Sorted(maps.Keys(seen))
	if want := slices.Sorted(slices.Values(groups)); !slices.Equal(got, want) {
		logReport(t, r)
		t.Fatalf("groups of cases %v, want %v", got, want)
	}
	if r.Summary != (Summary{Passed: len(r.Cases) - len(skipped), Skipped: len(skipped)}) {
		t.Fatalf("summary %+v of %d cases, want %d skipped and the others passed", r.Summary, len(r.Cases), len(skipped))
	}
}

// testBroken checks each broken plugin in dir.
func testBroken(t *testing.T, dir string) {
	tests := []struct {
		plugin               string
		cfg                  Config
		root                 bool
		wantCase, wantReason string
		// others are the further cases the broken rule fails; nil means
		// any.
		others []string
	}{
		{plugin: "stdout-log", wantCase: "info", wantReason: "not one JSON value"},
		{plugin: "error-extra-key", wantCase: "error/bad-json", wantReason: `keys other than "error": code`,
			others: []string{"error/empty-stdin", "error/unknown-subcommand", "error/setup-without-netns", "error/teardown-without-netns"}},
		{plugin: "error-exit-zero", wantCase: "error/bad-json", wantReason: "exit status 0",
			others: []string{"error/empty-stdin", "error/unknown-subcommand", "error/setup-without-netns", "error/teardown-without-netns"}},
		{plugin: "create-renames", wantCase: "create/podman-5.8/create-basic", wantReason: "name changed",
			others: []string{"create/netavark-1.14/full", "create/netavark-1.14/minimal", "create/netavark-2.x"}},
		{plugin: "stdout-held", cfg: Config{Timeout: 2 * time.Second}, wantCase: "info", wantReason: "stdout was still open",
			others: []string{"info/no-argument"}},
		{plugin: "no-mac", cfg: Config{Netns: true}, root: true, wantCase: "netns/setup", wantReason: "no mac_address key", others: []string{}},
		{plugin: "teardown-twice-fails", cfg: Config{Netns: true}, root: true, wantCase: "netns/teardown-again", wantReason: "no such interface", others: []string{}},
		{plugin: "leaks-veth", cfg: Config{Netns: true}, root: true, wantCase: "netns/no-leaked-links", wantReason: "left behind: cklk-", others: []string{}},
		{plugin: "ignores-ports", cfg: Config{Netns: true}, root: true, wantCase: "ports/reachable",
			wantReason: "a plugin that does not publish ports must refuse them with an error", others: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.plugin, func(t *testing.T) {
			if tt.root {
				requireRoot(t)
			}
			if tt.plugin == "leaks-veth" {
				t.Cleanup(func() { removeLeakedVeths(t) })
			}
			cfg := tt.cfg
			cfg.Plugin = filepath.Join(dir, tt.plugin)
			r := mustRun(t, cfg)
			fails := failed(r)
			c, ok := fails[tt.wantCase]
			if !ok || !strings.Contains(c.Reason, tt.wantReason) {
				logReport(t, r)
				t.Fatalf("case %s: got %s %q, want a failure with %q", tt.wantCase, c.Status, c.Reason, tt.wantReason)
			}
			if c.Sent == nil || c.Got == nil {
				if tt.wantCase != "netns/no-leaked-links" && tt.wantCase != "ports/reachable" {
					t.Errorf("failure of %s does not say what was sent and what came back", tt.wantCase)
				}
			}
			if tt.others != nil {
				want := append([]string{tt.wantCase}, tt.others...)
				var got []string
				for name := range fails {
					got = append(got, name)
				}
				slices.Sort(want)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					logReport(t, r)
					t.Errorf("failed cases %v, want %v", got, want)
				}
			}
			if r.OK() {
				t.Error("report OK despite a failure")
			}
		})
	}
}

// removeLeakedVeths deletes the veth pairs that the leaks-veth plugin left
// on the host.
func removeLeakedVeths(t *testing.T) {
	links, err := netlink.LinkList()
	if err != nil {
		t.Errorf("list links: %v", err)
		return
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "cklk-") {
			if err := netlink.LinkDel(l); err != nil {
				t.Errorf("remove leaked %s: %v", l.Attrs().Name, err)
			}
		}
	}
}
