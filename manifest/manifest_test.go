package manifest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/internal/testenv"
)

func sample() *Manifest {
	return &Manifest{
		Format:    Format,
		Generator: Release{Module: "example.com/gen", Version: "v1.2.3"},
		Template:  "bridge",
		Overlays:  []string{},
		Inputs:    Inputs{Name: "demo", Module: "example.com/demo", Runtimes: []string{"netavark"}},
		Files: []File{
			NewFile("a.go", "templates/bridge/a.go.tmpl", Scaffold, []byte("package a\n"), 0o644),
			NewFile("run.sh", "templates/bridge/run.sh", Scaffold, []byte("#!/bin/sh\n"), 0o755),
		},
	}
}

// TestGitBlobID checks the blob id against git's own.
func TestGitBlobID(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		testenv.SkipOrFail(t, "no git to compare blob ids with")
	}
	for _, data := range []string{"", "package a\n", "no newline", "\x00binary\xff"} {
		cmd := exec.Command("git", "hash-object", "--stdin")
		cmd.Stdin = strings.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := GitBlobID([]byte(data)), strings.TrimSpace(string(out)); got != want {
			t.Errorf("GitBlobID(%q) = %s, git says %s", data, got, want)
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	m := sample()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode("m.json", b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := got.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(b) {
		t.Errorf("decode and encode changed the manifest:\n%s\nwant\n%s", again, b)
	}
	if f, ok := got.File("run.sh"); !ok || f.Mode != "0755" {
		t.Errorf("run.sh: %+v, %v", f, ok)
	}
}

func TestDecodeRefuses(t *testing.T) {
	good, err := sample().Encode()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, old, new, want string }{
		{"later format", `"format": 1`, `"format": 2`, "newer than this release reads"},
		{"no format", `"format": 1`, `"format": 0`, "no format version"},
		{"escaping path", `"path": "a.go"`, `"path": "../a.go"`, "not a path inside the project"},
		{"manifest as a file", `"path": "a.go"`, `"path": ".netavark-plugin-gen.json"`, "not a path inside the project"},
		{"twice", `"path": "run.sh"`, `"path": "a.go"`, "recorded twice"},
		{"owner", `"owner": "scaffold"`, `"owner": "mine"`, `owner "mine"`},
		{"mode", `"mode": "0644"`, `"mode": "rw"`, "not octal"},
		{"no name", `"name": "demo"`, `"name": ""`, "required"},
		{"not JSON", `{`, `[`, "m.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(string(good), tt.old, tt.new, 1)
			_, err := Decode("m.json", []byte(doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestReadMissing(t *testing.T) {
	_, err := Read(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), FileName) {
		t.Errorf("error %v, want one naming %s", err, FileName)
	}
}

// TestEdited checks which files count as edited: changed content or mode,
// a file the manifest does not record; not a missing one.
func TestEdited(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	m := sample()
	write("a.go", "package a\n", 0o644)
	write("run.sh", "#!/bin/sh\n", 0o644) // lost its executable bit
	write("mine.go", "package a\n", 0o644)
	got, err := m.Edited(dir, []string{"a.go", "run.sh", "mine.go", "missing.go"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"run.sh", "mine.go"}; !slices.Equal(got, want) {
		t.Errorf("edited %v, want %v", got, want)
	}
	write("a.go", "package a // mine\n", 0o644)
	got, err = m.Edited(dir, []string{"a.go"})
	if err != nil || !slices.Equal(got, []string{"a.go"}) {
		t.Errorf("edited %v, %v; want [a.go]", got, err)
	}
}

func TestReleaseQuery(t *testing.T) {
	for _, tt := range []struct {
		r    Release
		want string
	}{
		{Release{Version: "v1.2.3", Commit: "0123456789abcdef0123456789abcdef01234567"}, "v1.2.3"},
		{Release{Version: "v0.0.0-20261204203000-5ed2fcf1a2b3"}, "v0.0.0-20261204203000-5ed2fcf1a2b3"},
		{Release{Version: "v0.0.0-20261204203000-5ed2fcf1a2b3+dirty", Commit: "5ed2fcf1a2b3"}, ""},
		{Release{Version: "5ed2fcf", Commit: "5ed2fcf1a2b3c4d5e6f708192a3b4c5d6e7f8091"}, "5ed2fcf1a2b3c4d5e6f708192a3b4c5d6e7f8091"},
		{Release{Version: "5ed2fcf-dirty", Commit: "5ed2fcf1a2b3c4d5e6f708192a3b4c5d6e7f8091"}, ""},
		{Release{Version: "(devel)"}, ""},
		{Release{Version: "(devel)", Commit: "unknown"}, ""},
	} {
		if got := tt.r.Query(); got != tt.want {
			t.Errorf("%+v.Query() = %q, want %q", tt.r, got, tt.want)
		}
	}
}
