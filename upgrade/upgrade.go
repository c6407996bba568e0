// Package upgrade brings a generated project to the templates of this
// release without losing the user's edits: a three-way merge, file by file,
// of the file as the old release generated it (base), as it is in the
// project (ours) and as this release generates it (theirs). The project's
// manifest (package manifest) says which release generated it from which
// inputs, and what each file was; [Run] finds base, decides what becomes of
// each file, writes the result and a new manifest. [Check] only tells
// whether the project is at this release's templates.
package upgrade

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/semver"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/generator"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/internal/merge"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/manifest"
)

// Options are the inputs of an upgrade.
type Options struct {
	// Dir is the project's root, where its manifest is.
	Dir string
	// Release is this release, which the new manifest records.
	Release manifest.Release
	// DryRun decides what becomes of each file and writes nothing.
	DryRun bool
	// BaseFrom is a netavark-plugin-gen binary of the release that
	// generated the project, to find base with; "" looks in the project's
	// git objects, then fetches the release with go run.
	BaseFrom string
	// Templates are this release's templates (generator.Config.Templates).
	Templates fs.FS
}

// Action is what an upgrade does to one file.
type Action string

// The actions, as the upgrade command prints them.
const (
	Added   Action = "added"   // new in the templates
	Updated Action = "updated" // unchanged by the user: replaced by the new version
	Merged  Action = "merged"  // both changed it: merged without a conflict
	Clash   Action = "clash"   // both changed it and they could not be merged
	Deleted Action = "deleted" // dropped by the templates, unchanged by the user
	Kept    Action = "kept"    // changed by the user only, or dropped by the templates but changed by the user
)

// Change is what becomes of one file.
type Change struct {
	Path   string
	Action Action
	// Why explains a clash or a kept file.
	Why string

	result *content // what to write; nil deletes the file (Deleted) or leaves it (others)
	// keepRecord keeps the file's old manifest record: a clash that left
	// the file as it was, so the next upgrade sees the template's change
	// again.
	keepRecord bool
}

// Result is what an upgrade did, or would do.
type Result struct {
	// From and To are the release that generated the project and this one.
	From, To manifest.Release
	// Base says where the files as From generated them came from; "" when
	// no file needed them.
	Base string
	// Changes lists the files that change or clash, by path. Files that
	// stay as they are, with no template change pending, are left out.
	Changes []Change
	// Tidy says what became of go mod tidy, if go.mod changed.
	Tidy string
	// Inputs are the project's inputs, as its manifest records them or,
	// when Adopted, as worked out from the project: it had no manifest.
	Inputs  manifest.Inputs
	Adopted bool
	// Ref is the git ref where the upgrade kept the files as this release
	// generates them; "" outside a git repository.
	Ref string
}

// Clashes returns the changes that need the user: those of Action Clash.
func (r *Result) Clashes() []Change {
	return slices.DeleteFunc(slices.Clone(r.Changes), func(c Change) bool { return c.Action != Clash })
}

// Check reports whether the project in opts.Dir is at the templates of this
// release: whether this release generates, from the manifest's inputs,
// exactly the files that the manifest records. A project without a
// manifest is adopted as Run does.
func Check(ctx context.Context, opts Options) (bool, error) {
	m, _, err := load(ctx, opts)
	if err != nil {
		return false, err
	}
	theirs, _, err := render(m, opts)
	if err != nil {
		return false, err
	}
	return len(pending(m, theirs)) == 0 && len(dropped(m, theirs)) == 0, nil
}

// Run upgrades the project in opts.Dir, or with opts.DryRun says what it
// would do. A project in a git work tree must have no uncommitted change, so
// that the upgrade is one diff to review. Clashes are not an error: the
// result lists them.
func Run(ctx context.Context, opts Options) (*Result, error) {
	m, adopted, err := load(ctx, opts)
	if err != nil {
		return nil, err
	}
	repo := inRepo(ctx, opts.Dir)
	if repo && !opts.DryRun {
		dirty, err := uncommitted(ctx, opts.Dir)
		if err != nil {
			return nil, err
		}
		if len(dirty) > 0 {
			return nil, fmt.Errorf("%s has uncommitted changes (%s): commit or stash them first, so that the upgrade is one diff to review",
				opts.Dir, strings.Join(first(dirty, 3), ", "))
		}
	}
	theirs, newManifest, err := render(m, opts)
	if err != nil {
		return nil, err
	}
	res := &Result{From: m.Generator, To: opts.Release, Inputs: m.Inputs, Adopted: adopted != nil}
	if adopted != nil {
		ownAsNext(m, newManifest)
	}
	ours, err := readProject(opts.Dir, m, theirs)
	if err != nil {
		return nil, err
	}

	// base is needed only where the template changed a file that the user
	// changed too.
	var need []string
	for _, p := range pending(m, theirs) {
		rec, inBase := m.File(p)
		if o := ours[p]; inBase && o != nil && !rec.Matches(o.data, o.mode) && !equal(o, theirs[p]) {
			need = append(need, p)
		}
	}
	base := adopted
	if adopted != nil {
		res.Base = opts.BaseFrom
	} else if len(need) > 0 {
		if base, res.Base, err = findBase(ctx, opts, m, need); err != nil {
			return nil, err
		}
	}

	for _, p := range append(pending(m, theirs), dropped(m, theirs)...) {
		rec, inBase := m.File(p)
		c := decide(p, rec.Owner, inBase, rec, lookup(base, p), ours[p], theirs[p])
		if c.Action != "" {
			res.Changes = append(res.Changes, c)
		}
	}
	slices.SortFunc(res.Changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	if opts.DryRun {
		return res, nil
	}
	if err := apply(opts.Dir, m, newManifest, res.Changes); err != nil {
		return nil, err
	}
	res.Tidy = tidy(ctx, opts.Dir, res.Changes)
	if repo {
		if err := keepTheirs(ctx, opts.Dir, theirs); err != nil {
			return nil, fmt.Errorf("keep the generated files for the next upgrade: %w", err)
		}
		res.Ref = keepRef
	}
	return res, nil
}

// readManifest reads the manifest of the project in opts.Dir, and refuses
// a project that a later release than this one generated.
func readManifest(opts Options) (*manifest.Manifest, error) {
	m, err := manifest.Read(opts.Dir)
	if err != nil {
		return nil, err
	}
	from, to := m.Generator.Version, opts.Release.Version
	if semver.IsValid(from) && semver.IsValid(to) && semver.Compare(from, to) > 0 {
		return nil, fmt.Errorf("%s was generated by netavark-plugin-gen %s, a later release than this one (%s): upgrade with %[2]s or later",
			opts.Dir, from, to)
	}
	return m, nil
}

// render renders the project of m's inputs with this release, and returns
// its files by path, the manifest aside, and the manifest.
func render(m *manifest.Manifest, opts Options) (map[string]*content, *manifest.Manifest, error) {
	files, err := generator.Render(generator.Config{
		Name:      m.Inputs.Name,
		Module:    m.Inputs.Module,
		Template:  m.Template,
		Runtimes:  m.Inputs.Runtimes,
		Release:   opts.Release,
		Templates: opts.Templates,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("render the project with this release: %w", err)
	}
	out := make(map[string]*content, len(files))
	var newManifest *manifest.Manifest
	for _, f := range files {
		if f.Path == manifest.FileName {
			if newManifest, err = manifest.Decode(f.Path, f.Data); err != nil {
				return nil, nil, err
			}
			continue
		}
		out[f.Path] = &content{data: f.Data, mode: f.Mode}
	}
	return out, newManifest, nil
}

// pending returns the paths of the files that this release generates
// otherwise than m records: changed or new, sorted.
func pending(m *manifest.Manifest, theirs map[string]*content) []string {
	var paths []string
	for p, t := range theirs {
		if rec, ok := m.File(p); !ok || !rec.Matches(t.data, t.mode) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	return paths
}

// dropped returns the paths of the files that m records and this release no
// longer generates.
func dropped(m *manifest.Manifest, theirs map[string]*content) []string {
	var paths []string
	for _, f := range m.Files {
		if _, ok := theirs[f.Path]; !ok {
			paths = append(paths, f.Path)
		}
	}
	return paths
}

// readProject reads the project's files at the paths of m and of theirs; a
// missing file is nil.
func readProject(dir string, m *manifest.Manifest, theirs map[string]*content) (map[string]*content, error) {
	files := make(map[string]*content)
	read := func(p string) error {
		if _, done := files[p]; done {
			return nil
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		info, err := os.Lstat(full)
		if errors.Is(err, fs.ErrNotExist) {
			files[p] = nil
			return nil
		}
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", full)
		}
		data, err := os.ReadFile(full)
		if err != nil {
			return err
		}
		files[p] = &content{data: data, mode: info.Mode().Perm()}
		return nil
	}
	for _, f := range m.Files {
		if err := read(f.Path); err != nil {
			return nil, err
		}
	}
	for p := range theirs {
		if err := read(p); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func lookup(files map[string]content, p string) *content {
	if c, ok := files[p]; ok {
		return &c
	}
	return nil
}

// decide applies the rules of an upgrade to the file at p. rec is its old
// manifest record (if inBase), base its content as then generated (nil when
// it was not needed), ours the file in the project and theirs the file now
// generated (nil: absent). It returns a Change without Action when the file
// stays as it is with nothing to report.
func decide(p string, owner manifest.Owner, inBase bool, rec manifest.File, base, ours, theirs *content) Change {
	c := Change{Path: p}
	oursIsBase := inBase && ours != nil && rec.Matches(ours.data, ours.mode)
	switch {
	case !inBase && ours == nil: // new in the templates
		c.Action, c.result = Added, theirs
	case !inBase && equal(ours, theirs):
		// The user's file is already what is generated now.
	case !inBase:
		c.Action, c.keepRecord = Clash, true
		c.Why = "new in the templates, but a file of yours is at its path: left as it is; move yours away and run upgrade again to add it"
	case theirs == nil && ours == nil:
		// Dropped by the templates, removed by the user.
	case theirs == nil && oursIsBase:
		c.Action = Deleted
	case theirs == nil:
		c.Action, c.Why = Kept, "dropped by the templates, changed by you: kept, it is yours now (if it no longer builds, move your changes into the templates' new files)"
	case ours == nil && owner == manifest.Generated:
		c.Action, c.result = Updated, theirs
		c.Why = "restored: a generated file, which the templates changed"
	case ours == nil:
		c.Action, c.Why = Kept, "you deleted it, and the templates changed it: left deleted"
	case equal(ours, theirs):
		// Both made the same change.
	case oursIsBase:
		c.Action, c.result = Updated, theirs
	case owner == manifest.Generated:
		c.Action, c.keepRecord = Clash, true
		c.Why = "a generated file (DO NOT EDIT) that you changed, and the templates changed: left as it is; move your change to a file of your own, delete this one and run upgrade again"
	default:
		return merged(c, base, ours, theirs)
	}
	return c
}

// merged merges the changes to a file that both the user and the templates
// changed.
func merged(c Change, base, ours, theirs *content) Change {
	mode := theirs.mode
	if ours.mode != base.mode {
		mode = ours.mode
	}
	switch {
	case c.Path == "go.mod":
		data, err := mergeGoMod(base.data, ours.data, theirs.data)
		if err != nil {
			c.Action, c.keepRecord, c.Why = Clash, true, "cannot merge go.mod: "+err.Error()
			return c
		}
		c.Action, c.result = Merged, &content{data: data, mode: mode}
	case c.Path == "go.sum":
		// Derived from go.mod: the new version, then go mod tidy.
		c.Action, c.result = Updated, &content{data: theirs.data, mode: mode}
	case binary(base.data) || binary(ours.data) || binary(theirs.data):
		c.Action = Clash
		c.Why = "a binary file that both you and the templates changed: yours is left as it is"
	default:
		data, conflicts := merge.Lines(base.data, ours.data, theirs.data,
			merge.Labels{Ours: "yours", Base: "as generated before", Theirs: "as generated now"})
		c.Action, c.result = Merged, &content{data: data, mode: mode}
		if conflicts > 0 {
			c.Action = Clash
			c.Why = fmt.Sprintf("%d conflicting change(s), marked in the file", conflicts)
		}
	}
	return c
}

// binary reports whether data is not text: it holds a NUL or is not UTF-8.
func binary(data []byte) bool {
	return bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data)
}

// first returns the first n of s, and "..." if there are more.
func first(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), "...")
}

// apply writes the changes and the new manifest into dir: the files to
// write with generator.Write, one rename each, then the deletions. The new
// manifest keeps the old record of each file that a clash left as it was.
func apply(dir string, old, next *manifest.Manifest, changes []Change) error {
	var files generator.FileSet
	var remove []string
	keep := make(map[string]bool)
	for _, c := range changes {
		switch {
		case c.keepRecord:
			keep[c.Path] = true
		case c.Action == Deleted:
			remove = append(remove, c.Path)
		}
		if c.result != nil {
			files = append(files, generator.File{Path: c.Path, Data: c.result.data, Mode: c.result.mode})
		}
	}
	var records []manifest.File
	for _, f := range next.Files {
		if !keep[f.Path] {
			records = append(records, f)
		}
	}
	for _, f := range old.Files {
		if keep[f.Path] {
			records = append(records, f)
		}
	}
	slices.SortFunc(records, func(a, b manifest.File) int { return strings.Compare(a.Path, b.Path) })
	next.Files = records
	data, err := next.Encode()
	if err != nil {
		return err
	}
	files = append(files, generator.File{Path: manifest.FileName, Data: data, Mode: 0o644})
	if err := generator.Write(dir, files, generator.Over); err != nil {
		return err
	}
	for _, p := range remove {
		if err := removeFile(dir, p); err != nil {
			return err
		}
	}
	return nil
}

// removeFile removes the file p of the project in dir, and the directories
// that this leaves empty.
func removeFile(dir, p string) error {
	full := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for d := filepath.Dir(full); d != filepath.Clean(dir); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break // not empty
		}
	}
	return nil
}

// tidy runs go mod tidy in dir if go.mod or go.sum changed, and says what
// became of it.
func tidy(ctx context.Context, dir string, changes []Change) string {
	if !slices.ContainsFunc(changes, func(c Change) bool {
		return (c.Path == "go.mod" || c.Path == "go.sum") && c.result != nil
	}) {
		return ""
	}
	if _, err := exec.LookPath("go"); err != nil {
		return "go.mod changed and there is no go command: run go mod tidy"
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Sprintf("go mod tidy failed (%v): %s", err, bytes.TrimSpace(out))
	}
	return "go mod tidy: done"
}

// keepTheirs stores the files as this release generates them in the
// project's repository (see keepRef).
func keepTheirs(ctx context.Context, dir string, theirs map[string]*content) error {
	tree, err := os.MkdirTemp("", "netavark-plugin-gen-generated-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tree)
	var files generator.FileSet
	for p, c := range theirs {
		files = append(files, generator.File{Path: p, Data: c.data, Mode: c.mode})
	}
	if err := generator.Write(filepath.Join(tree, "p"), files, generator.New); err != nil {
		return err
	}
	return keepGenerated(ctx, dir, filepath.Join(tree, "p"), "the files as netavark-plugin-gen generated them, for the next upgrade")
}
