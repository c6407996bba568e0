// Package e2e runs demo as its users do, on a cluster of hosts: each host
// is a network namespace on one underlay, with its own configuration file
// and its agent (demo-agent) running in it, and a real netavark runs the
// plugin there for containers, which are namespaces behind the host. The
// cluster's state is in a real etcd, started in the test process; the
// test's own namespace (nstest.Main's) plays the underlay's switch and
// etcd's machine.
//
// The tests check what the plugin promises across hosts: containers of one
// network reach each other over IPv4 and IPv6 from any host; concurrent
// setups get distinct addresses; an agent that was down catches up when it
// starts again; a host that dies disappears from the others once its lease
// expires; the other hosts learn of a new container quickly; errors say
// what is wrong and leave nothing behind; and podman works with it.
package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"example.com/demo/internal/nstest"
)

// driver is the plugin's name: its executable's, and the driver of its
// networks.
const driver = "demo"

// pluginDir holds the plugin that TestMain builds, named after the driver,
// for netavark's --plugin-directory; pluginBin is the plugin itself, and
// agentBin the agent (demo-agent), which is not in pluginDir: netavark
// takes every executable there for a plugin.
var pluginDir, pluginBin, agentBin string

func TestMain(m *testing.M) {
	os.Exit(nstest.Main(func() int { return runTests(m) }))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", driver+"-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	pluginDir, pluginBin = filepath.Join(dir, "plugins"), filepath.Join(dir, "plugins", driver)
	agentBin = filepath.Join(dir, driver+"-agent")
	for bin, pkg := range map[string]string{pluginBin: "../../cmd/" + driver, agentBin: "../../cmd/" + driver + "-agent"} {
		if err := nstest.Build(bin, pkg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// result is what one run of a program printed and returned, and how long
// it took.
type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %s\nstdout: %s\nstderr: %s", r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// run runs c with stdin, and env added to the test's environment (a later
// value of a variable wins), and returns what it printed. The error is for
// a program that could not run at all; an exit status is in the result.
// It does not use a testing.TB, so that goroutines may call it.
func run(c *exec.Cmd, stdin []byte, env ...string) (result, error) {
	c.Stdin = bytes.NewReader(stdin)
	c.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	start := time.Now()
	err := c.Run()
	took := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return result{}, fmt.Errorf("run %s: %w", c.Path, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: c.ProcessState.ExitCode(), took: took}, nil
}
