package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/internal/templatetest"
)

// oldVersion is the version of the release that netavark-plugin-gen-old
// stands for in the upgrade scripts.
const oldVersion = "v0.1.0"

// oldTemplates are the templates of that release: this release's, with one
// change of each kind an upgrade meets.
func oldTemplates() (fs.FS, error) {
	old, err := templatetest.Copy()
	if err != nil {
		return nil, err
	}
	old.Set("bridge/docs/notes.md", "Notes that the new release no longer has.\n")
	return old.FS(), errors.Join(
		// A line that the new release removes.
		old.Replace("bridge/README.md.tmpl", "\n## Use it with podman\n", "\nThis line is gone from the new release.\n\n## Use it with podman\n"),
		// A line that the new release changes, and the owner too.
		old.Replace("bridge/Makefile.tmpl", "\nFUZZTIME ?= 30s\n", "\nFUZZTIME ?= 10s\n"),
		// A comment that the new release rewords, in the file the owner
		// edits most.
		old.Replace("bridge/internal/driver/driver.go.tmpl", "Start reading at Driver.Attach.", "Start with Driver.Attach."),
		// A version that the new release bumps.
		old.Replace("bridge/go.mod.tmpl", "github.com/vishvananda/netns v0.0.5", "github.com/vishvananda/netns v0.0.4"),
		// A file that the new release adds (the one above is a file that
		// it drops).
		old.Remove("bridge/scripts/package-version.sh"),
	)
}

// runOld runs the CLI as netavark-plugin-gen-old.
func runOld() int {
	old, err := oldTemplates()
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	templateFS, version, commit = old, oldVersion, ""
	return Main(os.Args[1:], os.Stdout, os.Stderr)
}

// TestOldTemplates checks that every change of oldTemplates applies.
func TestOldTemplates(t *testing.T) {
	if _, err := oldTemplates(); err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeScripts runs the scripts in testdata/upgrade: a project that
// netavark-plugin-gen-old generated, edited by its owner, upgraded by this
// release. They run git and the Go toolchain of the host.
func TestUpgradeScripts(t *testing.T) {
	goEnv := hostGoEnv(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/upgrade",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			// The tests run in a network namespace with no route out:
			// the Go toolchain works from the host's module cache.
			for k, v := range goEnv {
				env.Setenv(k, v)
			}
			env.Setenv("GOPROXY", "off")
			for _, kv := range [][2]string{
				{"HOME", env.WorkDir}, {"GIT_CONFIG_NOSYSTEM", "1"},
				{"GIT_AUTHOR_NAME", "owner"}, {"GIT_AUTHOR_EMAIL", "owner@example.com"},
				{"GIT_COMMITTER_NAME", "owner"}, {"GIT_COMMITTER_EMAIL", "owner@example.com"},
			} {
				env.Setenv(kv[0], kv[1])
			}
			return nil
		},
	})
}

// hostGoEnv returns the Go toolchain's settings on this host that the
// scripts, which have a HOME of their own, must keep: where the module and
// build caches are.
func hostGoEnv(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "env", "-json", "GOPATH", "GOMODCACHE", "GOCACHE", "GOFLAGS", "GOTOOLCHAIN").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	env := map[string]string{}
	if err := json.Unmarshal(out, &env); err != nil {
		t.Fatalf("go env: %v", err)
	}
	return env
}
