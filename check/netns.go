package check

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// netnsDir is where named network namespaces are mounted, as by
// `ip netns add`.
const netnsDir = "/run/netns"

// scratchNetns is a named network namespace made for one setup and teardown
// cycle.
type scratchNetns struct {
	name string
	path string
}

// newScratchNetns creates a network namespace with a name unique to this run
// and mounts it in netnsDir.
func newScratchNetns() (*scratchNetns, error) {
	ns := &scratchNetns{name: "nvpg-check-" + randomHex(4)}
	ns.path = filepath.Join(netnsDir, ns.name)
	errc := make(chan error, 1)
	// netns.NewNamed moves the calling thread into the new namespace: do it
	// on a thread of its own, locked, and move back. If moving back fails,
	// the thread stays locked, so that the runtime ends it with the
	// goroutine instead of running other code in the wrong namespace.
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("get the current netns: %w", err)
			return
		}
		defer orig.Close()
		h, err := netns.NewNamed(ns.name)
		if err == nil {
			h.Close()
		}
		if serr := netns.Set(orig); serr != nil {
			errc <- errors.Join(err, fmt.Errorf("return to the host netns: %w", serr))
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	if err := <-errc; err != nil {
		_ = os.Remove(ns.path) // NewNamed leaves the file if the mount fails
		return nil, fmt.Errorf("create netns %s: %w", ns.name, err)
	}
	return ns, nil
}

// inNetns runs fn with the calling goroutine's thread in the network
// namespace at path, and moves it back. Sockets fn opens, and processes it
// starts, are in that namespace. If the thread cannot move back, it stays
// locked, so that the runtime ends it with the goroutine instead of running
// other code in the wrong namespace.
func inNetns(path string, fn func() error) error {
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
	if err := netns.Set(orig); err != nil {
		return errors.Join(ferr, fmt.Errorf("return from netns %s: %w", path, err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// delete unmounts and removes the namespace. The kernel destroys it, with
// the interfaces in it, when nothing else holds it.
func (ns *scratchNetns) delete() error {
	if err := netns.DeleteNamed(ns.name); err != nil {
		return fmt.Errorf("delete netns %s: %w", ns.name, err)
	}
	return nil
}

// missingNetnsPath returns a netns path that does not exist.
func missingNetnsPath() string {
	return filepath.Join(netnsDir, "nvpg-check-missing-"+randomHex(4))
}

// linkNames returns the names of the links in the netns at path, or in the
// checker's own (the host's) if path is "".
func linkNames(path string) ([]string, error) {
	h, err := handleAt(path)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	var links []netlink.Link
	// A dump interrupted by a concurrent change is retried.
	for range 5 {
		if links, err = h.LinkList(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	names := make([]string, 0, len(links))
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	return names, nil
}

// handleAt returns a netlink handle whose socket is in the netns at path, or
// in the checker's own if path is "".
func handleAt(path string) (*netlink.Handle, error) {
	if path == "" {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, fmt.Errorf("open netlink: %w", err)
		}
		return h, nil
	}
	nsh, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", path, err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return nil, fmt.Errorf("open netlink in netns %s: %w", path, err)
	}
	return h, nil
}

// linkDiff returns the names only in a and those only in b.
func linkDiff(a, b []string) (onlyA, onlyB []string) {
	for _, n := range a {
		if !slices.Contains(b, n) {
			onlyA = append(onlyA, n)
		}
	}
	for _, n := range b {
		if !slices.Contains(a, n) {
			onlyB = append(onlyB, n)
		}
	}
	return onlyA, onlyB
}

// leakSettle is how long the host's links may take to come back to what
// they were: a link that another process adds and removes meanwhile is no
// leak of the plugin.
const leakSettle = 2 * time.Second

// checkHostLinks compares the host's links with before, the names listed
// before the cycle, giving changes up to leakSettle to undo themselves.
func checkHostLinks(before []string) error {
	deadline := time.Now().Add(leakSettle)
	for {
		after, err := linkNames("")
		if err != nil {
			return err
		}
		removed, added := linkDiff(before, after)
		if len(removed) == 0 && len(added) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var parts []string
			if len(added) > 0 {
				parts = append(parts, "left behind: "+strings.Join(added, ", "))
			}
			if len(removed) > 0 {
				parts = append(parts, "removed: "+strings.Join(removed, ", "))
			}
			return fmt.Errorf("the host's links changed over the setup and teardown cycle (%s)", strings.Join(parts, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
