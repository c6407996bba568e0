package check

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// skipOrFail skips the test with the reason, or fails it when the
// environment says that nothing may be skipped (TEST_NO_SKIP=1, as in CI).
func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("TEST_NO_SKIP") == "1" {
		t.Fatalf("%s (TEST_NO_SKIP=1 forbids skipping)", reason)
	}
	t.Skip(reason)
}

// requireRoot skips a test that makes network namespaces when not root.
func requireRoot(t *testing.T) {
	t.Helper()
	if reason := needsRoot(); reason != "" {
		skipOrFail(t, reason)
	}
}

// findNetavark returns a netavark binary: $NETAVARK, else netavark in PATH,
// else podman's usual places. It skips the test if there is none.
func findNetavark(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("NETAVARK"); p != "" {
		return p
	}
	if p, err := exec.LookPath("netavark"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/libexec/podman/netavark", "/usr/lib/podman/netavark"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	skipOrFail(t, "no netavark: set NETAVARK or install netavark")
	return ""
}

// buildTimeout bounds each go build and make of the tests.
const buildTimeout = 5 * time.Minute

// buildPlugins builds every plugin under testdata/plugins into dir, each
// named after its directory, and returns dir.
func buildPlugins(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir("testdata/plugins")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "internal" {
			args = append(args, "./testdata/plugins/"+e.Name())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return dir
}

// failed returns the cases of r that failed, by name.
func failed(r *Report) map[string]Case {
	m := make(map[string]Case)
	for _, c := range r.Cases {
		if c.Status == Fail {
			m[c.Name] = c
		}
	}
	return m
}

// logReport writes r's text form to the test log.
func logReport(t *testing.T, r *Report) {
	t.Helper()
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("report of %s:\n%s", r.Plugin, b.String())
}
