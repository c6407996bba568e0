package check

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// goldenDir is the generated bridge plugin of the repository.
const goldenDir = "../golden/bridge"

// buildGolden builds the golden plugin with its own Makefile and returns
// its path.
func buildGolden(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "make", "-C", goldenDir, "build").CombinedOutput(); err != nil {
		t.Fatalf("golden/bridge does not build (make -C golden/bridge build: %v):\n%s", err, out)
	}
	return filepath.Join(goldenDir, "bin", "demo")
}

// TestGolden runs the suite on the golden plugin: it meets the same cases as
// the good test plugin, and passes them all, except the fixture networks
// that the bridge driver refuses: one without a subnet (it allocates no
// addresses), one with a blackhole route. The netns and netavark cycles run
// its netlink dataplane (golden/bridge/internal/dataplane): they failed at
// netns/setup while that was a stub whose Attach answered "todo".
func TestGolden(t *testing.T) {
	plugin := buildGolden(t)
	good := filepath.Join(buildPlugins(t, t.TempDir()), "good")
	refused := []string{
		"create/netavark-1.14/minimal", // no subnet
		"create/netavark-2.x",          // a blackhole route
	}
	check := func(t *testing.T, cfg Config, groups []string) {
		t.Helper()
		r := mustRun(t, cfg)
		wantAll(t, r, groups, refused)
		cfg.Plugin = good
		if got, want := caseNames(r), caseNames(mustRun(t, cfg)); !slices.Equal(got, want) {
			t.Errorf("cases %v, want those of the good plugin: %v", got, want)
		}
	}
	t.Run("plain", func(t *testing.T) {
		check(t, Config{Plugin: plugin}, plainGroups)
	})
	t.Run("netns", func(t *testing.T) {
		requireRoot(t)
		check(t, Config{Plugin: plugin, Netns: true}, netnsGroups)
	})
	t.Run("netavark", func(t *testing.T) {
		requireRoot(t)
		check(t, Config{Plugin: plugin, Netavark: findNetavark(t)}, netavarkGroups)
	})
}

// caseNames returns the names of r's cases, in order.
func caseNames(r *Report) []string {
	names := make([]string, len(r.Cases))
	for i, c := range r.Cases {
		names[i] = c.Name
	}
	return names
}
