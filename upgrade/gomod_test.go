package upgrade

import (
	"strings"
	"testing"
)

func TestMergeGoMod(t *testing.T) {
	base := `module example.com/demo

go 1.24

require (
	example.com/bumped v1.0.0
	example.com/pinned v1.0.0
	example.com/later v1.0.0
	example.com/dropped v1.0.0
	example.com/kept v1.0.0
)

replace example.com/bumped => example.com/fork v1.0.0
`
	// The owner pinned one module back, took a later version of another,
	// changed one that the templates drop, added a module and a replace.
	ours := `module example.com/demo

go 1.24

require (
	example.com/bumped v1.0.0
	example.com/pinned v0.9.0
	example.com/later v1.5.0
	example.com/dropped v1.0.0
	example.com/kept v1.1.0
	example.com/mine v0.1.0
)

replace example.com/bumped => example.com/fork v1.0.0

replace example.com/mine => ../mine
`
	// The templates bump three modules, drop two, add one, move the
	// replace and the go version.
	theirs := `module example.com/demo

go 1.25

require (
	example.com/bumped v1.2.0
	example.com/pinned v1.2.0
	example.com/later v1.2.0
	example.com/added v0.3.0
)

replace example.com/bumped => example.com/fork v1.2.0
`
	want := `module example.com/demo

go 1.25

require (
	example.com/bumped v1.2.0
	example.com/pinned v1.2.0
	example.com/later v1.5.0
	example.com/kept v1.1.0
	example.com/mine v0.1.0
	example.com/added v0.3.0
)

replace example.com/bumped => example.com/fork v1.2.0

replace example.com/mine => ../mine
`
	got, err := mergeGoMod([]byte(base), []byte(ours), []byte(theirs))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("mergeGoMod:\n%s\nwant:\n%s", got, want)
	}
}

func TestMergeGoModIdentities(t *testing.T) {
	mod := "module example.com/demo\n\ngo 1.24\n\nrequire example.com/a v1.0.0\n"
	bumped := strings.Replace(mod, "v1.0.0", "v1.1.0", 1)
	for _, tt := range []struct{ name, base, ours, theirs, want string }{
		{"unchanged", mod, mod, mod, mod},
		{"theirs only", mod, mod, bumped, bumped},
		{"ours only", mod, bumped, mod, bumped},
	} {
		got, err := mergeGoMod([]byte(tt.base), []byte(tt.ours), []byte(tt.theirs))
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: mergeGoMod = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := mergeGoMod([]byte(mod), []byte("module\n"), []byte(mod)); err == nil {
		t.Error("mergeGoMod of a broken go.mod: no error")
	}
}
