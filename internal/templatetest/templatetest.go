// Package templatetest makes, in tests, the templates of another release:
// a copy of this release's templates with changes.
package templatetest

import (
	"io/fs"
	"strings"
	"testing/fstest"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/templates"
)

// Templates is a set of templates that tests change.
type Templates fstest.MapFS

// Copy returns a copy of this release's templates.
func Copy() (Templates, error) {
	t := Templates{}
	err := fs.WalkDir(templates.FS, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := fs.ReadFile(templates.FS, p)
		t[p] = &fstest.MapFile{Data: data, Mode: 0o644}
		return err
	})
	return t, err
}

// FS returns t as an fs.FS, for generator.Config.Templates.
func (t Templates) FS() fs.FS { return fstest.MapFS(t) }

// Replace replaces the first from in the template p with to.
func (t Templates) Replace(p, from, to string) error {
	f, ok := t[p]
	if !ok || !strings.Contains(string(f.Data), from) {
		return &fs.PathError{Op: "replace " + from, Path: p, Err: fs.ErrNotExist}
	}
	f.Data = []byte(strings.Replace(string(f.Data), from, to, 1))
	return nil
}

// Remove removes the template p.
func (t Templates) Remove(p string) error {
	if _, ok := t[p]; !ok {
		return &fs.PathError{Op: "remove", Path: p, Err: fs.ErrNotExist}
	}
	delete(t, p)
	return nil
}

// Set adds the template p, or replaces it, with data.
func (t Templates) Set(p, data string) {
	t[p] = &fstest.MapFile{Data: []byte(data), Mode: 0o644}
}
