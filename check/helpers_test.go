package check

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/internal/testenv"
)

// requireRoot skips a test that makes network namespaces when not root.
func requireRoot(t *testing.T) {
	t.Helper()
	if reason := needsRoot(); reason != "" {
		testenv.SkipOrFail(t, reason)
	}
}

// findNetavark returns a netavark binary, or skips the test if there is
// none.
func findNetavark(t *testing.T) string {
	t.Helper()
	p := testenv.Netavark()
	if p == "" {
		testenv.SkipOrFail(t, "no netavark: set NETAVARK or install netavark")
	}
	return p
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
