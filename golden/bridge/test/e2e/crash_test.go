package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	drv "example.com/demo/internal/driver"
	"example.com/demo/internal/nstest"
	"example.com/demo/internal/protocol"
)

// The crash tests kill a call of the plugin with SIGKILL at random moments,
// and check that the call the runtime makes next removes whatever the
// killed one left: a crash of the plugin, or of the host under it, must
// never leave a link, a firewall rule or a lock behind.

// setupKills is how many setups TestCrashSetup kills.
const setupKills = 300

// callTimeout bounds a call after a kill: one that waits longer is stuck
// on a lock that the killed call left held.
const callTimeout = 10 * time.Second

// TestCrashSetup kills the plugin during setup, at a random moment within
// a setup's usual duration, then runs teardown with the same input, which
// must leave the host and the container's netns as they were before: no
// link, address, route or nftables object of the plugin, and no lock file
// of the bridge. The moments fall before setup changed anything, in the
// middle, and after it was done; a kill that came too late is a setup that
// completed, torn down all the same.
func TestCrashSetup(t *testing.T) {
	nstest.RequireRoot(t)
	ns := nstest.NewNetns(t)
	network := testNetwork(t, "10.237.0.0/24", "fd23:7::/64")
	in := container(network, "10.237.0.5", "fd23:7::5")
	req := protocol.NetworkPluginExec{
		ContainerID:    in.ContainerID,
		ContainerName:  in.ContainerName,
		PortMappings:   []protocol.PortMapping{{HostPort: 8237, ContainerPort: 80, Range: 1, Protocol: "tcp,udp"}},
		Network:        network,
		NetworkOptions: in.Networks[network.Name],
	}
	input, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	plugin := func(ctx context.Context, cmd string) *exec.Cmd {
		c := exec.CommandContext(ctx, filepath.Join(pluginDir, driver), cmd, ns)
		c.Stdin = bytes.NewReader(input)
		return c
	}
	call := func(cmd string) time.Duration {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		start := time.Now()
		if out, err := plugin(ctx, cmd).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		return time.Since(start)
	}
	lock := filepath.Join(drv.DefaultLockDir, network.NetworkInterface+".lock")
	state := func() string {
		t.Helper()
		_, err := os.Stat(lock)
		return fmt.Sprintf("%s\nlock file of the bridge: %t", nstest.Snapshot(t, nstest.HostNetns, ns), !errors.Is(err, fs.ErrNotExist))
	}

	// A few complete rounds first: they measure a setup, and make what
	// setup changes once for good (the host's forwarding sysctls, lo up
	// in the container) before the state to come back to is taken.
	var durations []time.Duration
	for range 5 {
		durations = append(durations, call("setup"))
		call("teardown")
	}
	slices.Sort(durations)
	typical := durations[len(durations)/2]
	before := state()

	var nothing, partial, complete, finished int
	for i := range setupKills {
		delay := rand.N(typical)
		killed := nstest.Kill(t, plugin(context.Background(), "setup"), delay)
		after := state()
		switch {
		case !killed:
			finished++
		case after == before:
			nothing++
		case strings.Contains(after, "nft element"):
			// The firewall's batch, setup's last change, is in.
			complete++
		default:
			partial++
		}
		call("teardown")
		if got := nstest.Settle(t, before, state); got != before {
			t.Fatalf("kill %d, %v into setup (killed %t): teardown left a difference:\n%s\nstate after the kill:\n%s",
				i+1, delay, killed, nstest.Diff(before, got), nstest.Diff(before, after))
		}
	}
	t.Logf("%d setups killed within %v: %d before any change, %d midway, %d with every change made; %d completed before the kill",
		setupKills, typical, nothing, partial, complete, finished)
	if partial == 0 {
		t.Errorf("no kill landed in the middle of a setup: the test tests nothing")
	}

	// The lock files are free and the plugin works as before.
	call("setup")
	call("teardown")
	if got := nstest.Settle(t, before, state); got != before {
		t.Fatalf("a last setup and teardown left a difference:\n%s", nstest.Diff(before, got))
	}
}
