package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/internal/testenv"
)

var update = flag.Bool("update", false, "update the testscript files with actual output")

func TestMain(m *testing.M) {
	testscript.Main(privateNetns{m}, map[string]func(){
		"netavark-plugin-gen":           func() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) },
		"netavark-plugin-gen-old":       func() { os.Exit(runOld()) },
		"netavark-plugin-gen-published": func() { os.Exit(runPublished()) },
	})
}

// privateNetns runs the tests in a network namespace of their own, where
// the quickstart's plugin and podman change nothing of the host's.
type privateNetns struct{ m *testing.M }

func (p privateNetns) Run() int {
	if !testenv.InPrivateNetns() {
		if err := fetchModules(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return testenv.Main(p.m.Run)
}

// fetchModules fills the module cache, while the network is there, with
// what go mod tidy needs in a generated project: the upgrade scripts run it
// in the private network namespace, where it cannot download. go mod tidy
// -diff in the golden projects fetches that and changes nothing.
func fetchModules() error {
	for _, dir := range []string{"../../golden/bridge", "../../golden/bridge-all"} {
		cmd := exec.Command("go", "mod", "tidy", "-diff")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go mod tidy -diff in %s: %v\n%s", dir, err, out)
		}
	}
	return nil
}

// TestScripts runs the CLI as a real program on the scripts in
// testdata/script: each is a txtar archive of commands and expected files.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
	})
}
