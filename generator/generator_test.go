package generator

import (
	"bytes"
	"errors"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/manifest"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

var demo = Config{Name: "demo", Module: "example.com/demo"}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string // "" for valid
	}{
		{demo, ""},
		{Config{Name: "my-plugin_2", Module: "github.com/me/x"}, ""},
		{Config{Name: "", Module: "example.com/x"}, "empty"},
		{Config{Name: "a/b", Module: "example.com/x"}, "path separator"},
		{Config{Name: `a\b`, Module: "example.com/x"}, "path separator"},
		{Config{Name: "..", Module: "example.com/x"}, `".."`},
		{Config{Name: "a b", Module: "example.com/x"}, "whitespace"},
		{Config{Name: "a\tb", Module: "example.com/x"}, "whitespace"},
		{Config{Name: "bridge", Module: "example.com/x"}, "built into netavark"},
		{Config{Name: "macvlan", Module: "example.com/x"}, "built into netavark"},
		{Config{Name: "ipvlan", Module: "example.com/x"}, "built into netavark"},
		{Config{Name: "Demo", Module: "example.com/x"}, "lowercase"},
		{Config{Name: "-demo", Module: "example.com/x"}, "lowercase"},
		{Config{Name: strings.Repeat("a", 33), Module: "example.com/x"}, "longer than"},
		{Config{Name: "demo", Module: ""}, "module path is empty"},
		{Config{Name: "demo", Module: "bad path"}, "invalid module path"},
		{Config{Name: "demo", Module: "example.com/x/../y"}, "invalid module path"},
		{Config{Name: "demo", Module: "example.com/x", Template: "nope"}, `unknown template "nope"`},
		{Config{Name: "demo", Module: "example.com/x", Runtimes: []string{"netavark", "docker", "cni"}}, ""},
		{Config{Name: "demo", Module: "example.com/x", Runtimes: []string{"netavark", "rkt"}}, `unknown runtime "rkt"`},
		{Config{Name: "demo", Module: "example.com/x", Runtimes: []string{"netavark", "docker", "docker"}}, `runtime "docker" given twice`},
		{Config{Name: "demo", Module: "example.com/x", Runtimes: []string{"docker"}}, "include it"},
		{Config{Name: "demo", Module: "example.com/x", Template: "vxlan"}, ""},
		{Config{Name: "demo", Module: "example.com/x", Template: "vxlan", Runtimes: []string{"netavark", "cni"}}, "template vxlan has no cni front end"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tt.cfg, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%+v: error %v, want one mentioning %q", tt.cfg, err, tt.want)
		}
	}
}

func TestRenderDeterministic(t *testing.T) {
	a, err := Render(demo)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(demo)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Path != b[i].Path || !bytes.Equal(a[i].Data, b[i].Data) || a[i].Mode != b[i].Mode {
			t.Errorf("%s differs between two renders", a[i].Path)
		}
	}
}

func TestRenderSubstitutes(t *testing.T) {
	files, err := Render(Config{Name: "zorp", Module: "github.com/acme/zorp"})
	if err != nil {
		t.Fatal(err)
	}
	byPath := make(map[string][]byte)
	for _, f := range files {
		// The manifest names the templates by their paths.
		if f.Path != manifest.FileName && (strings.HasSuffix(f.Path, ".tmpl") || bytes.Contains(f.Data, []byte("{{."))) {
			t.Errorf("%s: template not rendered", f.Path)
		}
		byPath[f.Path] = f.Data
	}
	main, ok := byPath["cmd/zorp/main.go"]
	if !ok {
		t.Fatal("no cmd/zorp/main.go")
	}
	if !bytes.Contains(main, []byte(`"github.com/acme/zorp/internal/netavark"`)) {
		t.Errorf("main.go does not import the module's packages:\n%s", main)
	}
	if !bytes.HasPrefix(byPath["go.mod"], []byte("module github.com/acme/zorp\n")) {
		t.Errorf("go.mod: %s", byPath["go.mod"])
	}
}

// TestProtocolMatchesTypes checks that the generated protocol package
// declares exactly what package types declares: one source of truth.
func TestProtocolMatchesTypes(t *testing.T) {
	files, err := Render(demo)
	if err != nil {
		t.Fatal(err)
	}
	generated := make(map[string][]byte)
	for _, f := range files {
		if filepath.Dir(f.Path) == protocolDir {
			generated[filepath.Base(f.Path)] = f.Data
		}
	}
	sources, err := fs.ReadDir(types.Source, ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(generated) != len(sources) {
		t.Errorf("%d protocol files for %d types files", len(generated), len(sources))
	}
	for _, e := range sources {
		src, _ := fs.ReadFile(types.Source, e.Name())
		gen, ok := generated[e.Name()]
		if !ok {
			t.Errorf("no protocol/%s", e.Name())
			continue
		}
		if want, got := decls(t, src, "types"), decls(t, gen, "protocol"); want != got {
			t.Errorf("protocol/%s declares other things than types/%s", e.Name(), e.Name())
		}
	}
}

// decls prints the declarations of a Go file of package pkg.
func decls(t *testing.T, src []byte, pkg string) string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name.Name != pkg {
		t.Errorf("package %s, want %s", f.Name.Name, pkg)
	}
	var buf bytes.Buffer
	for _, d := range f.Decls {
		printer.Fprint(&buf, fset, d)
		buf.WriteByte('\n')
	}
	return buf.String()
}

func TestWriteFailureLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "new", "demo")
	// "a" is a file and also the directory of "a/b": the second write fails.
	files := FileSet{{Path: "a", Data: []byte("x"), Mode: 0o644}, {Path: "a/b", Data: []byte("y"), Mode: 0o644}}
	if err := Write(dir, files, New); err == nil {
		t.Fatal("write succeeded")
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	files := FileSet{
		{Path: "go.mod", Data: []byte("module x\n"), Mode: 0o644},
		{Path: "scripts/run.sh", Data: []byte("#!/bin/sh\n"), Mode: 0o755},
	}
	if err := Write(dir, files, New); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		info, err := os.Stat(filepath.Join(dir, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != f.Mode {
			t.Errorf("%s: mode %v, want %v", f.Path, info.Mode().Perm(), f.Mode)
		}
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o755 {
		t.Errorf("project dir mode %v, want 0755", info.Mode().Perm())
	}

	// A second write without force is refused and changes nothing.
	if err := os.WriteFile(filepath.Join(dir, "mine"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := FileSet{{Path: "go.mod", Data: []byte("module y\n"), Mode: 0o644}}
	if err := Write(dir, changed, New); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("write into a non-empty dir: %v, want ErrNotEmpty", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "go.mod")); string(b) != "module x\n" {
		t.Errorf("refused write changed go.mod: %q", b)
	}

	// Over replaces the files written and keeps the others.
	if err := Write(dir, changed, Over); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "go.mod")); string(b) != "module y\n" {
		t.Errorf("forced write left go.mod as %q", b)
	}
	for _, keep := range []string{"mine", "scripts/run.sh"} {
		if _, err := os.Stat(filepath.Join(dir, keep)); err != nil {
			t.Errorf("forced write removed %s: %v", keep, err)
		}
	}

	// Replace leaves the files written and nothing else.
	if err := Write(dir, changed, Replace); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != "go.mod" {
		t.Errorf("after Replace the directory holds %v, want go.mod alone", entries)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".demo.tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary directories left: %v", leftovers)
	}
}

// TestOverlays checks that an overlay's files come with its front ends: a
// +docker directory with docker, and a +cni+docker one with either.
func TestOverlays(t *testing.T) {
	for _, tt := range []struct {
		runtimes []string
		want     map[string]bool
	}{
		{nil, map[string]bool{"internal/docker/plugin.go": false, "internal/cni/cni.go": false, "internal/store/store.go": false}},
		{[]string{"netavark", "docker"}, map[string]bool{"internal/docker/plugin.go": true, "internal/cni/cni.go": false, "internal/store/store.go": true}},
		{[]string{"netavark", "cni"}, map[string]bool{"internal/docker/plugin.go": false, "internal/cni/cni.go": true, "internal/store/store.go": true}},
	} {
		files, err := Render(Config{Name: "demo", Module: "example.com/demo", Runtimes: tt.runtimes})
		if err != nil {
			t.Fatal(err)
		}
		for p, want := range tt.want {
			if got := slices.ContainsFunc(files, func(f File) bool { return f.Path == p }); got != want {
				t.Errorf("runtimes %v: %s generated %v, want %v", tt.runtimes, p, got, want)
			}
		}
	}
	for _, tt := range []struct {
		dir, want string
	}{
		{"+docker", ""},
		{"+cni+docker", ""},
		{"+cni+rkt", `names no runtime or template: "rkt"`},
		{"+docker+vxlan", ""},
		{"internal", ""},
	} {
		err := overlayDir(tt.dir, []string{"netavark", "cni"})
		switch {
		case tt.want == "" && err != nil && err != fs.SkipDir:
			t.Errorf("%s: %v", tt.dir, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an error containing %q", tt.dir, err, tt.want)
		}
	}
}

// TestLayers renders a template built on another: its files replace the
// base's, PATH.omit leaves the base's PATH out, and an omit of nothing is
// an error.
func TestLayers(t *testing.T) {
	tree := fstest.MapFS{
		"bridge/a.txt":                {Data: []byte("a of the base\n")},
		"bridge/cmd/{{.Name}}/b.tmpl": {Data: []byte("b of the base for {{.Name}}\n")},
		"bridge/c.txt":                {Data: []byte("c of the base\n")},
		"vxlan/cmd/{{.Name}}/b.tmpl":  {Data: []byte("b of vxlan for {{.Name}}\n")},
		"vxlan/c.txt.omit":            {},
		"vxlan/d.txt":                 {Data: []byte("d of vxlan\n")},
	}
	files, err := Render(Config{Name: "demo", Module: "example.com/demo", Template: "vxlan", Templates: tree})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		if f.Path != manifest.FileName && !strings.HasPrefix(f.Path, "internal/") {
			got[f.Path] = f.Source + ": " + string(f.Data)
		}
	}
	want := map[string]string{
		"a.txt":      "templates/bridge/a.txt: a of the base\n",
		"cmd/demo/b": "templates/vxlan/cmd/{{.Name}}/b.tmpl: b of vxlan for demo\n",
		"d.txt":      "templates/vxlan/d.txt: d of vxlan\n",
	}
	if !maps.Equal(got, want) {
		t.Errorf("rendered %q\nwant %q", got, want)
	}

	tree["vxlan/e.txt.omit"] = &fstest.MapFile{}
	_, err = Render(Config{Name: "demo", Module: "example.com/demo", Template: "vxlan", Templates: tree})
	if err == nil || !strings.Contains(err.Error(), "no file e.txt below it to leave out") {
		t.Errorf("omit of nothing: %v", err)
	}
}
