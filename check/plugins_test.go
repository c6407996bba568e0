package check

import (
	"context"
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

// testGood checks that the good plugin passes every case, without and with
// the setup and teardown cycles.
func testGood(t *testing.T, plugin string) {
	t.Run("plain", func(t *testing.T) {
		r := mustRun(t, Config{Plugin: plugin})
		wantAllPass(t, r, 12)
	})
	t.Run("netns", func(t *testing.T) {
		requireRoot(t)
		r := mustRun(t, Config{Plugin: plugin, Netns: true})
		// It refuses port mappings, which it could not publish: the cases
		// that need a published port skip.
		refused := []string{"ports/reachable", "ports/teardown", "ports/withdrawn"}
		if r.Summary != (Summary{Passed: 22, Skipped: len(refused)}) {
			logReport(t, r)
			t.Fatalf("summary %+v, want 22 passed and %d skipped", r.Summary, len(refused))
		}
		for _, c := range r.Cases {
			if c.Status == Skip && (!slices.Contains(refused, c.Name) || !strings.Contains(c.Reason, "refused port mappings")) {
				t.Errorf("%s skipped: %s", c.Name, c.Reason)
			}
		}
	})
	t.Run("netavark", func(t *testing.T) {
		requireRoot(t)
		r := mustRun(t, Config{Plugin: plugin, Netavark: findNetavark(t)})
		wantAllPass(t, r, 18)
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

// wantAllPass checks that r holds n cases, all passed.
func wantAllPass(t *testing.T, r *Report, n int) {
	t.Helper()
	if r.Summary != (Summary{Passed: n}) || len(r.Cases) != n {
		logReport(t, r)
		t.Fatalf("summary %+v of %d cases, want all %d passed", r.Summary, len(r.Cases), n)
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
