package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/generator"

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

// runPublished runs the CLI as netavark-plugin-gen-published: this release,
// as published at oldVersion by the module proxy of the upgrade scripts
// (moduleProxy).
func runPublished() int {
	version, commit = oldVersion, ""
	return Main(os.Args[1:], os.Stdout, os.Stderr)
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
	proxy := moduleProxy(t)
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
			env.Setenv("PROXY", proxy)
			// The host's module cache is a module proxy too: a script
			// with a module cache of its own fetches from it.
			env.Setenv("HOSTPROXY", "file://"+filepath.ToSlash(filepath.Join(goEnv["GOMODCACHE"], "cache", "download")))
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

// moduleProxy returns the URL of a module proxy in a directory (file://)
// that serves this repository as netavark-plugin-gen oldVersion, for the
// scripts that fetch a release with go run. It serves nothing else: with
// GOPROXY set to it, the other modules come from the module cache.
func moduleProxy(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, filepath.FromSlash(generator.Module), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	v := module.Version{Path: generator.Module, Version: oldVersion}
	zf, err := os.Create(filepath.Join(dir, oldVersion+".zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zf.Close()
	// The module's root, two directories up; the golden projects, modules
	// of their own, are left out.
	if err := modzip.CreateFromDir(zf, v, filepath.Join("..", "..")); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"list":               oldVersion + "\n",
		oldVersion + ".info": `{"Version":"` + oldVersion + `","Time":"2026-01-01T00:00:00Z"}`,
		oldVersion + ".mod":  string(gomod),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return "file://" + filepath.ToSlash(root)
}
