// Package nstest helps tests that need root, network namespaces, a netavark
// binary or tools from the Go module proxy: Main runs a package's tests in
// a network namespace of their own, NewNetns and NewOutside build
// namespaces, Serve and Probe talk across them. A test skips, saying why,
// when what it needs is missing, unless TEST_NO_SKIP=1 is set: then it
// fails, so that a CI run cannot pass by testing nothing.
package nstest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// envPrivate marks a test process that Main started in a network
// namespace of its own.
const envPrivate = "NSTEST_PRIVATE_NETNS"

// Main runs the tests of a package, as root, in a network namespace of
// their own that plays the host: the bridges, firewall rules and sysctls
// (IP forwarding) that the tests set up never touch the real host, and
// whatever a failed test leaves goes with the namespace. It re-runs the
// test binary in a new namespace with its loopback up; without root it
// runs the tests where they are, and those that need root skip or fail.
// The new namespace has no route to the Go module proxy: Main builds the
// tools (pkg@version, for Tool) before it moves. Call it from TestMain with
// the function that runs the tests, m.Run or one that prepares them first:
// os.Exit(nstest.Main(m.Run)).
func Main(run func() int, tools ...string) int {
	if os.Geteuid() != 0 {
		return run()
	}
	if os.Getenv(envPrivate) == "1" {
		if err := setLoopbackUp(); err != nil {
			fmt.Fprintln(os.Stderr, "nstest:", err)
			return 1
		}
		return run()
	}
	dir, err := os.MkdirTemp("", "nstest-tools-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "nstest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, pkg := range tools {
		// A tool that does not build fails (or skips) the tests that
		// need it, with this error above theirs.
		if err := installTool(dir, pkg); err != nil {
			fmt.Fprintln(os.Stderr, "nstest:", err)
		}
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Env = append(os.Environ(), envPrivate+"=1", envTools+"="+dir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "nstest: run the tests in a network namespace of their own:", err)
		return 1
	}
	return 0
}

func setLoopbackUp() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return err
	}
	return netlink.LinkSetUp(lo)
}

// SkipOrFail skips the test for a missing prerequisite, or fails it when
// TEST_NO_SKIP=1.
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("TEST_NO_SKIP") == "1" {
		t.Fatal(reason + " (TEST_NO_SKIP=1 forbids skipping)")
	}
	t.Skip(reason)
}

// RequireRoot skips or fails the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "needs root: creates network namespaces, bridges and veth pairs")
	}
}

// UniqueName returns prefix and 8 random hex digits; with a prefix of up to
// 7 bytes it is a valid interface name.
func UniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// NewNetns creates a named network namespace, removed at cleanup, and
// returns its path (/run/netns/NAME).
func NewNetns(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	name := UniqueName("nst-")
	errc := make(chan error, 1)
	go func() {
		// NewNamed moves the calling thread into the new namespace. The
		// goroutine stays locked to its thread and never unlocks, so the
		// runtime ends the thread with the goroutine rather than reuse it
		// in the wrong namespace; nothing needs switching back.
		runtime.LockOSThread()
		ns, err := netns.NewNamed(name)
		if err == nil {
			ns.Close()
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		if errors.Is(err, unix.EPERM) {
			SkipOrFail(t, "needs CAP_SYS_ADMIN to create network namespaces: "+err.Error())
		}
		t.Fatalf("create netns %s: %v", name, err)
	}
	path := filepath.Join("/run/netns", name)
	t.Cleanup(func() { DeleteNetns(t, path) })
	return path
}

// DeleteNetns removes a namespace made by NewNetns, if it is still there.
func DeleteNetns(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err := netns.DeleteNamed(filepath.Base(path)); err != nil {
		t.Errorf("delete netns %s: %v", path, err)
	}
}

// Netavark returns the path of a netavark binary: $NETAVARK, else netavark
// on PATH, else podman's usual places. Without one the test skips or fails;
// scripts/fetch-netavark.sh fetches one.
func Netavark(t testing.TB) string {
	t.Helper()
	candidates := []string{os.Getenv("NETAVARK")}
	if p, err := exec.LookPath("netavark"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/libexec/podman/netavark", "/usr/lib/podman/netavark", "/usr/local/libexec/podman/netavark")
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if info, err := os.Stat(c); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return c
		}
	}
	SkipOrFail(t, "no netavark binary: set NETAVARK, or run NETAVARK=$(scripts/fetch-netavark.sh) make test")
	return ""
}

// RemoveLink deletes the host link called name, if there is one: tests clean
// up with it so that a failed test leaves no link behind.
func RemoveLink(t testing.TB, name string) {
	t.Helper()
	if l, err := netlink.LinkByName(name); err == nil {
		if err := netlink.LinkDel(l); err != nil {
			t.Errorf("remove leftover link %s: %v", name, err)
		}
	}
}

// LinkExists reports whether the host has a link called name.
func LinkExists(t testing.TB, name string) bool {
	t.Helper()
	_, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if err != nil && !errors.As(err, &notFound) {
		t.Fatalf("look up %s: %v", name, err)
	}
	return err == nil
}

// Handle opens a netlink handle in the network namespace at path, closed at
// cleanup: the test's checks run in the namespace without switching threads.
func Handle(t testing.TB, path string) *netlink.Handle {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatalf("open netns %s: %v", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatalf("open netlink socket in %s: %v", path, err)
	}
	t.Cleanup(h.Close)
	return h
}

// Do runs fn with the calling goroutine's thread in the network namespace
// at path, and moves the thread back after. Sockets that fn opens stay in
// that namespace, and /proc/sys/net is that namespace's while fn runs.
func Do(t testing.TB, path string, fn func()) {
	t.Helper()
	if err := InNetns(path, func() error { fn(); return nil }); err != nil {
		t.Fatal(err)
	}
}

// InNetns is Do for code without a testing.TB, such as servers and
// clients on goroutines of their own: it returns fn's error, or why the
// thread could not enter the namespace.
func InNetns(path string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("get the current netns: %w", err)
	}
	defer orig.Close()
	target, err := netns.GetFromPath(path)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open netns %s: %w", path, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter netns %s: %w", path, err)
	}
	ferr := fn()
	// A thread that cannot go back stays locked, so that the runtime
	// ends it with the goroutine instead of reusing it.
	if err := netns.Set(orig); err != nil {
		return errors.Join(ferr, fmt.Errorf("leave netns %s: %w", path, err))
	}
	runtime.UnlockOSThread()
	return ferr
}
