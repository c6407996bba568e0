package cnitool

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	drv "example.com/demo/internal/driver"
	"example.com/demo/internal/nstest"
)

// addKills is how many ADDs TestCrashAdd kills.
const addKills = 150

// TestCrashAdd kills the plugin during ADD, chained with host-local and
// publishing a port, at a random moment within an ADD's usual duration,
// then runs DEL with the same configuration and arguments, which must leave
// the host and the container's netns as they were before: no link,
// address, route or nftables object of the plugin, no record of the
// attachment, no address held in host-local, no lock file of the bridge.
func TestCrashAdd(t *testing.T) {
	nstest.RequireRoot(t)
	n := newNetwork(t, "1.1.0", obj(t, `{"capabilities": {"portMappings": true}, "isDefaultGateway": true, "ipMasq": true,
		"ipam": {"type": "host-local", "ranges": [[{"subnet": "198.18.46.0/24"}], [{"subnet": "2001:db8:46::/64"}]]}}`))
	ipamDir := filepath.Join(n.plugin["ipam"].(map[string]any)["dataDir"].(string), n.name)
	ns := nstest.NewNetns(t)
	env := []string{"CNI_CONTAINERID=" + containerID(ns), "CNI_NETNS=" + ns, "CNI_IFNAME=eth0",
		`CAP_ARGS={"portMappings": [{"hostPort": 8246, "containerPort": 80, "protocol": "tcp"}]}`}
	extra := map[string]any{"runtimeConfig": map[string]any{"portMappings": []any{
		map[string]any{"hostPort": 8246, "containerPort": 80, "protocol": "tcp"}}}}
	run := func(cmd string) time.Duration {
		t.Helper()
		start := time.Now()
		if r := n.exec(t, cmd, extra, env...); r.code != 0 {
			t.Fatalf("%s: %s", cmd, r)
		}
		return time.Since(start)
	}
	state := func() string {
		t.Helper()
		files := n.records(t)
		held, _ := filepath.Glob(filepath.Join(ipamDir, "*"))
		for _, f := range held {
			if base := filepath.Base(f); base != "lock" && !slices.Contains([]string{"last_reserved_ip.0", "last_reserved_ip.1"}, base) {
				files = append(files, "host-local "+base)
			}
		}
		if _, err := os.Stat(filepath.Join(drv.DefaultLockDir, n.bridge+".lock")); err == nil {
			files = append(files, "lock file of the bridge")
		}
		return nstest.Snapshot(t, nstest.HostNetns, ns) + "\nfiles: " + strings.Join(files, " ")
	}

	var durations []time.Duration
	for range 5 {
		durations = append(durations, run("ADD"))
		run("DEL")
	}
	slices.Sort(durations)
	typical := durations[len(durations)/2]
	before := state()

	var nothing, partial, finished int
	for i := range addKills {
		delay := rand.N(typical)
		c, stdin := n.command(t, "ADD", extra, env...)
		c.Stdin = bytes.NewReader(stdin)
		killed := nstest.Kill(t, c, delay)
		switch after := state(); {
		case !killed:
			finished++
		case after == before:
			nothing++
		default:
			partial++
		}
		run("DEL")
		if got := nstest.Settle(t, before, state); got != before {
			t.Fatalf("kill %d, %v into ADD (killed %t): DEL left a difference:\n%s", i+1, delay, killed, nstest.Diff(before, got))
		}
	}
	t.Logf("%d ADDs killed within %v: %d before any change, %d after some; %d completed before the kill",
		addKills, typical, nothing, partial, finished)
	if partial == 0 {
		t.Error("no kill landed in the middle of an ADD: the test tests nothing")
	}
	run("ADD")
	run("DEL")
	if got := nstest.Settle(t, before, state); got != before {
		t.Fatalf("a last ADD and DEL left a difference:\n%s", nstest.Diff(before, got))
	}
}
