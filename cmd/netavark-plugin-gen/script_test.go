package main

import (
	"flag"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/internal/testenv"
)

var update = flag.Bool("update", false, "update the testscript files with actual output")

func TestMain(m *testing.M) {
	testscript.Main(privateNetns{m}, map[string]func(){
		"netavark-plugin-gen":     func() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) },
		"netavark-plugin-gen-old": func() { os.Exit(runOld()) },
	})
}

// privateNetns runs the tests in a network namespace of their own, where
// the quickstart's plugin and podman change nothing of the host's.
type privateNetns struct{ m *testing.M }

func (p privateNetns) Run() int { return testenv.Main(p.m.Run) }

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
