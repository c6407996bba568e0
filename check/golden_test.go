package check

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
)

// goldenDir is the generated bridge plugin of the repository.
const goldenDir = "../golden/bridge"

// buildGolden builds the golden plugin with its own Makefile and returns
// its path. It skips the test if the build fails: the golden project is
// another package's to keep building.
func buildGolden(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "make", "-C", goldenDir, "build").CombinedOutput(); err != nil {
		t.Skipf("golden/bridge does not build (make -C golden/bridge build: %v):\n%s", err, out)
	}
	return filepath.Join(goldenDir, "bin", "demo")
}

// TestGolden runs the suite on the golden plugin. All cases pass, except
// the fixture networks that the bridge driver refuses: one without a
// subnet (it allocates no addresses), one with a blackhole route. The netns and netavark cycles run its netlink dataplane
// (golden/bridge/internal/dataplane): they failed at netns/setup while that
// was a stub whose Attach answered "todo".
func TestGolden(t *testing.T) {
	plugin := buildGolden(t)
	refused := map[string]bool{
		"create/netavark-1.14/minimal": true, // no subnet
		"create/netavark-2.x":          true, // a blackhole route
	}
	check := func(t *testing.T, r *Report) {
		t.Helper()
		for _, c := range r.Cases {
			want := Pass
			if refused[c.Name] {
				want = Skip
			}
			if c.Status != want {
				logReport(t, r)
				t.Fatalf("%s: %s %s, want %s", c.Name, c.Status, c.Reason, want)
			}
		}
	}
	t.Run("plain", func(t *testing.T) {
		check(t, mustRun(t, Config{Plugin: plugin}))
	})
	t.Run("netns", func(t *testing.T) {
		requireRoot(t)
		r := mustRun(t, Config{Plugin: plugin, Netns: true})
		check(t, r)
		if len(r.Cases) != 25 {
			t.Errorf("%d cases, want 25", len(r.Cases))
		}
	})
	t.Run("netavark", func(t *testing.T) {
		requireRoot(t)
		r := mustRun(t, Config{Plugin: plugin, Netavark: findNetavark(t)})
		check(t, r)
		if len(r.Cases) != 18 {
			t.Errorf("%d cases, want 18", len(r.Cases))
		}
	})
}
