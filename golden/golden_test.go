// Package golden holds generated trees, checked in: the projects that make
// test builds and tests, and the JSON Schemas that other validators read.
// Each must be byte for byte what the generator produces today; make golden
// rewrites them (go test ./golden -run TestGolden -update).
package golden

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aymanbagabas/go-udiff"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/generator"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden trees instead of comparing them")

// trees is the one list of golden trees: the directory under golden/ and
// what the generator puts there. Makefile finds the projects among them by
// their Makefile, to build and test them.
var trees = []tree{
	{"bridge", project(generator.DefaultTemplate)},
	{"bridge-docker", project(generator.DefaultTemplate, generator.RuntimeDocker)},
	{"bridge-all", project(generator.DefaultTemplate, generator.RuntimeDocker, generator.RuntimeCNI)},
	{"vxlan", project(generator.VXLANTemplate)},
	{"vxlan-docker", project(generator.VXLANTemplate, generator.RuntimeDocker)},
	{"schema", generator.Schemas},
}

// tree is a directory under golden/ and the function that renders it.
type tree struct {
	dir    string
	render func() (generator.FileSet, error)
}

// project renders the plugin "demo" of module example.com/demo from
// template with the netavark front end and the runtimes named.
func project(template string, runtimes ...string) func() (generator.FileSet, error) {
	return func() (generator.FileSet, error) {
		return generator.Render(generator.Config{
			Name:     "demo",
			Module:   "example.com/demo",
			Template: template,
			Runtimes: append([]string{generator.RuntimeNetavark}, runtimes...),
			Release:  manifest.Release{Module: generator.Module, Version: "(devel)"},
		})
	}
}

// maxDiffs is how many differing files a failure shows in full.
const maxDiffs = 3

// TestGolden compares each golden tree with what the generator produces, or
// with -update rewrites it.
func TestGolden(t *testing.T) {
	for _, tree := range trees {
		t.Run(tree.dir, func(t *testing.T) {
			files, err := tree.render()
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := generator.Write(tree.dir, files, generator.Replace); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := readTree(tree.dir)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffTree("golden/"+tree.dir, got, files); d != "" {
				t.Errorf("golden/%s is stale: run make golden\n%s", tree.dir, d)
			}
		})
	}
}

// TestGoldenListed checks that every directory here is a tree of the list,
// so that none goes stale unseen.
func TestGoldenListed(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !slices.ContainsFunc(trees, func(tr tree) bool { return tr.dir == e.Name() }) {
			t.Errorf("golden/%s is not in the list of golden trees", e.Name())
		}
	}
}

// diffTree compares the files got, read from dir, with the files want, and
// describes each missing, unexpected or different file, with a unified
// diff of the first maxDiffs that differ; "" means the trees are equal.
func diffTree(dir string, got, want generator.FileSet) string {
	index := func(files generator.FileSet) map[string]generator.File {
		m := make(map[string]generator.File, len(files))
		for _, f := range files {
			m[f.Path] = f
		}
		return m
	}
	gotBy, wantBy := index(got), index(want)
	var b strings.Builder
	diffs := 0
	for _, f := range want {
		g, ok := gotBy[f.Path]
		switch {
		case !ok:
			fmt.Fprintf(&b, "%s/%s is missing\n", dir, f.Path)
		case !bytes.Equal(g.Data, f.Data) && diffs < maxDiffs:
			diffs++
			b.WriteString(udiff.Unified(dir+"/"+f.Path, "generated/"+f.Path, string(g.Data), string(f.Data)))
		case !bytes.Equal(g.Data, f.Data):
			fmt.Fprintf(&b, "%s/%s differs\n", dir, f.Path)
		case g.Mode != f.Mode:
			fmt.Fprintf(&b, "%s/%s has mode %v, generated %v\n", dir, f.Path, g.Mode, f.Mode)
		}
	}
	for _, g := range got {
		if _, ok := wantBy[g.Path]; !ok {
			fmt.Fprintf(&b, "%s/%s is not generated\n", dir, g.Path)
		}
	}
	return b.String()
}

// TestDiffTree checks that diffTree reports each kind of difference, so that
// TestGolden can fail.
func TestDiffTree(t *testing.T) {
	want := generator.FileSet{
		{Path: "changed.go", Data: []byte("a\nb\n"), Mode: 0o644},
		{Path: "missing.go", Data: []byte("x\n"), Mode: 0o644},
		{Path: "mode.sh", Data: []byte("x\n"), Mode: 0o755},
		{Path: "same.go", Data: []byte("x\n"), Mode: 0o644},
	}
	got := generator.FileSet{
		{Path: "changed.go", Data: []byte("a\nc\n"), Mode: 0o644},
		{Path: "extra.go", Data: []byte("x\n"), Mode: 0o644},
		{Path: "mode.sh", Data: []byte("x\n"), Mode: 0o644},
		{Path: "same.go", Data: []byte("x\n"), Mode: 0o644},
	}
	d := diffTree("golden/p", got, want)
	for _, line := range []string{
		"--- golden/p/changed.go", "+++ generated/changed.go", "-c", "+b",
		"golden/p/missing.go is missing",
		"golden/p/mode.sh has mode -rw-r--r--, generated -rwxr-xr-x",
		"golden/p/extra.go is not generated",
	} {
		if !slices.Contains(strings.Split(d, "\n"), line) {
			t.Errorf("diff lacks the line %q:\n%s", line, d)
		}
	}
	if strings.Contains(d, "same.go") {
		t.Errorf("diff names an equal file:\n%s", d)
	}
	if d := diffTree("golden/p", want, want); d != "" {
		t.Errorf("equal trees differ:\n%s", d)
	}
}

// readTree reads every file under dir, by slash-separated relative path in
// lexical order, except what dir/.gitignore ignores: build outputs such as
// bin/ are not part of the generated tree.
func readTree(dir string) (generator.FileSet, error) {
	ignored, err := ignorePatterns(dir)
	if err != nil {
		return nil, err
	}
	var files generator.FileSet
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if slices.ContainsFunc(ignored, func(pattern string) bool { return ignores(pattern, rel, e.IsDir()) }) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		files = append(files, generator.File{Path: rel, Data: data, Mode: info.Mode().Perm()})
		return nil
	})
	return files, err
}

// ignorePatterns returns the patterns of dir/.gitignore, if it has one.
func ignorePatterns(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	return patterns, nil
}

// ignores reports whether a .gitignore pattern of the simple forms the
// templates use ("/dir/" anchored at the root, "*.ext" anywhere) matches rel.
func ignores(pattern, rel string, isDir bool) bool {
	if dirName, ok := strings.CutSuffix(strings.TrimPrefix(pattern, "/"), "/"); ok {
		return isDir && rel == dirName
	}
	ok, _ := path.Match(pattern, path.Base(rel))
	return ok && !isDir
}
