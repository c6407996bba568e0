package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/templates"
)

// oldVersion is the version of the release that netavark-plugin-gen-old
// stands for in the upgrade scripts.
const oldVersion = "v0.1.0"

// oldTemplates are the templates of that release: this release's, with one
// change of each kind an upgrade meets.
func oldTemplates() (fs.FS, error) {
	old := fstest.MapFS{}
	err := fs.WalkDir(templates.FS, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := fs.ReadFile(templates.FS, p)
		old[p] = &fstest.MapFile{Data: data, Mode: 0o644}
		return err
	})
	if err != nil {
		return nil, err
	}
	edit := func(p, from, to string) error {
		f, ok := old[p]
		if !ok || !strings.Contains(string(f.Data), from) {
			return &fs.PathError{Op: "edit old template", Path: p, Err: fs.ErrNotExist}
		}
		f.Data = []byte(strings.Replace(string(f.Data), from, to, 1))
		return nil
	}
	return old, errors.Join(
		// A line that the new release removes.
		edit("bridge/README.md.tmpl", "\n## Use it with podman\n", "\nThis line is gone from the new release.\n\n## Use it with podman\n"),
		// A line that the new release changes, and the owner too.
		edit("bridge/Makefile.tmpl", "\nFUZZTIME ?= 30s\n", "\nFUZZTIME ?= 10s\n"),
		// A comment that the new release rewords, in the file the owner
		// edits most.
		edit("bridge/internal/driver/driver.go.tmpl", "Start reading at Driver.Attach.", "Start with Driver.Attach."),
		// A version that the new release bumps.
		edit("bridge/go.mod.tmpl", "github.com/vishvananda/netns v0.0.5", "github.com/vishvananda/netns v0.0.4"),
		// A file that the new release adds, and one that it drops.
		remove(old, "bridge/scripts/package-version.sh"),
		add(old, "bridge/docs/notes.md", "Notes that the new release no longer has.\n"),
	)
}

func remove(m fstest.MapFS, p string) error {
	if _, ok := m[p]; !ok {
		return &fs.PathError{Op: "remove old template", Path: p, Err: fs.ErrNotExist}
	}
	delete(m, p)
	return nil
}

func add(m fstest.MapFS, p, data string) error {
	m[p] = &fstest.MapFile{Data: []byte(data), Mode: 0o644}
	return nil
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
