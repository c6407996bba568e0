// Package testenv tells this repository's tests what the host offers them.
// A test that needs what is missing (root, a netavark binary, podman) skips
// and says why, unless TEST_NO_SKIP=1 is set, as CI does: then it fails, so
// that a run cannot pass by testing nothing.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
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

// envPrivate marks a test process that Main started in a network
// namespace of its own.
const envPrivate = "TESTENV_PRIVATE_NETNS"

// InPrivateNetns reports whether this is the test process that Main
// started in a network namespace of its own, which has no route out.
func InPrivateNetns() bool {
	return os.Getenv(envPrivate) == "1"
}

// Main runs a package's tests, as root, in a network namespace of their
// own that plays the host: the bridges, firewall tables and forwarding
// sysctls of the plugins that the tests run never touch the real host. It
// re-runs the test binary in a new namespace with its loopback up; without
// root it runs the tests where they are. Call it from TestMain:
// os.Exit(testenv.Main(m.Run)).
func Main(run func() int) int {
	if os.Geteuid() != 0 {
		return run()
	}
	if InPrivateNetns() {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: set lo up: %v: %s\n", err, out)
			return 1
		}
		return run()
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Env = append(os.Environ(), envPrivate+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "testenv: run the tests in a network namespace of their own:", err)
		return 1
	}
	return 0
}
