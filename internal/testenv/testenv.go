// Package testenv tells this repository's tests what the host offers them.
// A test that needs what is missing (root, a netavark binary, podman) skips
// and says why, unless TEST_NO_SKIP=1 is set, as CI does: then it fails, so
// that a run cannot pass by testing nothing.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// NoSkip reports whether skipping is forbidden (TEST_NO_SKIP=1).
func NoSkip() bool {
	return os.Getenv("TEST_NO_SKIP") == "1"
}

// SkipOrFail skips the test for a missing prerequisite, or fails it when
// NoSkip.
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if NoSkip() {
		t.Fatal(reason + " (TEST_NO_SKIP=1 forbids skipping)")
	}
	t.Skip(reason)
}

// Netavark returns a netavark binary: $NETAVARK, else netavark in PATH,
// else the first of podman's usual places that exists, else "".
func Netavark() string {
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
	return ""
}
