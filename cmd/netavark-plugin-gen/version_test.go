package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/internal/testenv"
)

// TestVersionFromCheckout builds the CLI as go install does from a clone,
// with the toolchain's VCS stamp and no link-time flags, and checks that
// version reports the commit of the checkout.
func TestVersionFromCheckout(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		testenv.SkipOrFail(t, "not a git checkout, or no git: "+err.Error())
	}
	bin := filepath.Join(t.TempDir(), "netavark-plugin-gen")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "\ncommit: " + strings.TrimSpace(string(head)) + "\n"; !strings.Contains(string(out), want) {
		t.Errorf("version printed\n%s\nwant the line %q", out, strings.TrimSpace(want))
	}
	// The toolchain stamps a pseudo-version of the commit, which go run
	// and go install can fetch once it is published.
	if !regexp.MustCompile(`(?m)^netavark-plugin-gen v0\.0\.0-[0-9]{14}-[0-9a-f]{12}(\+dirty)?$`).Match(out) &&
		!regexp.MustCompile(`(?m)^netavark-plugin-gen v[0-9]+\.[0-9]+\.[0-9]+`).Match(out) {
		t.Errorf("version printed\n%s\nwant a module version of the commit", out)
	}
}
