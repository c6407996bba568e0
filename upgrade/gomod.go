package upgrade

import (
	"fmt"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// mergeGoMod merges the go.mod files base, ours and theirs by their
// requirements, not their lines: it starts from the user's (ours) and takes
// the template's changes since base, a requirement at a time. A module the
// template adds is added; a version it bumps is bumped, unless the user
// chose a later one; a module it drops is dropped, unless the user changed
// it. The same goes for replace directives and the go version. The user's
// own requirements stay. go mod tidy afterwards settles go.sum.
func mergeGoMod(base, ours, theirs []byte) ([]byte, error) {
	b, err := modfile.Parse("go.mod (as generated before)", base, nil)
	if err != nil {
		return nil, err
	}
	o, err := modfile.Parse("go.mod", ours, nil)
	if err != nil {
		return nil, err
	}
	t, err := modfile.Parse("go.mod (as generated now)", theirs, nil)
	if err != nil {
		return nil, err
	}
	if err := mergeRequires(b, o, t); err != nil {
		return nil, err
	}
	if err := mergeReplaces(b, o, t); err != nil {
		return nil, err
	}
	if t.Go != nil && (o.Go == nil || semver.Compare("v"+t.Go.Version, "v"+o.Go.Version) > 0) {
		if err := o.AddGoStmt(t.Go.Version); err != nil {
			return nil, err
		}
	}
	o.Cleanup()
	return modfile.Format(o.Syntax), nil
}

// mergeRequires applies to o the changes of the require directives from b
// to t.
func mergeRequires(b, o, t *modfile.File) error {
	version := func(f *modfile.File, path string) (string, bool) {
		for _, r := range f.Require {
			if r.Mod.Path == path {
				return r.Mod.Version, true
			}
		}
		return "", false
	}
	for _, r := range t.Require {
		bv, inBase := version(b, r.Mod.Path)
		ov, inOurs := version(o, r.Mod.Path)
		switch {
		case !inOurs && !inBase:
			o.AddNewRequire(r.Mod.Path, r.Mod.Version, r.Indirect)
		case !inOurs:
			// The user dropped it: theirs to decide.
		case ov == bv || semver.Compare(r.Mod.Version, ov) > 0:
			if err := o.AddRequire(r.Mod.Path, r.Mod.Version); err != nil {
				return fmt.Errorf("go.mod: %w", err)
			}
		}
	}
	for _, r := range b.Require {
		_, inTheirs := version(t, r.Mod.Path)
		ov, inOurs := version(o, r.Mod.Path)
		if !inTheirs && inOurs && ov == r.Mod.Version {
			if err := o.DropRequire(r.Mod.Path); err != nil {
				return fmt.Errorf("go.mod: %w", err)
			}
		}
	}
	return nil
}

// mergeReplaces applies to o the changes of the replace directives from b
// to t.
func mergeReplaces(b, o, t *modfile.File) error {
	find := func(f *modfile.File, r *modfile.Replace) *modfile.Replace {
		for _, x := range f.Replace {
			if x.Old == r.Old {
				return x
			}
		}
		return nil
	}
	for _, r := range t.Replace {
		br, or := find(b, r), find(o, r)
		if or == nil && br != nil {
			continue // the user dropped it
		}
		if or == nil || (br != nil && or.New == br.New) {
			if err := o.AddReplace(r.Old.Path, r.Old.Version, r.New.Path, r.New.Version); err != nil {
				return fmt.Errorf("go.mod: %w", err)
			}
		}
	}
	for _, r := range b.Replace {
		if or := find(o, r); find(t, r) == nil && or != nil && or.New == r.New {
			if err := o.DropReplace(r.Old.Path, r.Old.Version); err != nil {
				return fmt.Errorf("go.mod: %w", err)
			}
		}
	}
	return nil
}
