// Package golden holds generated projects, checked in, and the tests that
// keep them fresh: each project here must be byte for byte what the
// generator produces today. Regenerate them with `make golden`.
package golden

import (
	"bytes"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/generator"
)

// projects maps each golden project directory to its template.
var projects = map[string]string{
	"bridge":        "bridge",
	"bridge-docker": "bridge",
	"bridge-all":    "bridge",
}

// TestProjectsFresh regenerates each golden project from the name and module
// it holds and compares the whole tree: missing, unexpected and different
// files all fail.
func TestProjectsFresh(t *testing.T) {
	for dir, tmpl := range projects {
		t.Run(dir, func(t *testing.T) {
			cfg := configOf(t, dir)
			cfg.Template = tmpl
			files, err := generator.Render(cfg)
			if err != nil {
				t.Fatal(err)
			}
			want := make(map[string]generator.File, len(files))
			for _, f := range files {
				want[f.Path] = f
			}
			got := readTree(t, dir)
			for _, p := range sortedKeys(want) {
				g, ok := got[p]
				switch {
				case !ok:
					t.Errorf("golden/%s/%s is missing", dir, p)
				case !bytes.Equal(g.Data, want[p].Data):
					t.Errorf("golden/%s/%s differs from the generated file", dir, p)
				case g.Mode != want[p].Mode:
					t.Errorf("golden/%s/%s has mode %v, generated %v", dir, p, g.Mode, want[p].Mode)
				}
			}
			for _, p := range sortedKeys(got) {
				if _, ok := want[p]; !ok {
					t.Errorf("golden/%s/%s is not generated any more", dir, p)
				}
			}
			if t.Failed() {
				t.Errorf("golden/%s is stale: run make golden", dir)
			}
		})
	}
}

// configOf reads back the plugin name, module path and runtimes of a golden
// project: the module from go.mod, the name from its netavark command
// directory cmd/NAME, and a runtime from each cmd/NAME-RUNTIME beside it.
func configOf(t *testing.T, dir string) generator.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := generator.Config{Module: modfile.ModulePath(data)}
	cmds, err := os.ReadDir(filepath.Join(dir, "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if cfg.Name == "" || len(c.Name()) < len(cfg.Name) {
			cfg.Name = c.Name()
		}
	}
	for _, c := range cmds {
		if runtime, ok := strings.CutPrefix(c.Name(), cfg.Name+"-"); ok {
			cfg.Runtimes = append(cfg.Runtimes, runtime)
		}
	}
	if cfg.Module == "" || cfg.Name == "" {
		t.Fatalf("golden/%s: want a module path and a directory under cmd/, found %q and %d", dir, cfg.Module, len(cmds))
	}
	if len(cfg.Runtimes) > 0 {
		cfg.Runtimes = append([]string{generator.RuntimeNetavark}, cfg.Runtimes...)
	}
	return cfg
}

// readTree reads every file under dir, by slash-separated relative path,
// except what the project's .gitignore ignores: build outputs such as bin/
// are not part of the generated tree.
func readTree(t *testing.T, dir string) map[string]generator.File {
	t.Helper()
	ignored := ignorePatterns(t, dir)
	files := make(map[string]generator.File)
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if slices.ContainsFunc(ignored, func(pattern string) bool { return ignores(pattern, filepath.ToSlash(rel), e.IsDir()) }) {
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
		files[filepath.ToSlash(rel)] = generator.File{Path: rel, Data: data, Mode: info.Mode().Perm()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// ignorePatterns returns the patterns of dir/.gitignore.
func ignorePatterns(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	return patterns
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
