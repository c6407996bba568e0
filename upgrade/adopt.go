package upgrade

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/generator"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/manifest"
)

// load reads the manifest of the project in opts.Dir. A project generated
// before netavark-plugin-gen wrote manifests has none: with --base-from,
// load adopts it (see adopt) and returns base too, all of it; without, it
// says what to do.
func load(ctx context.Context, opts Options) (*manifest.Manifest, map[string]content, error) {
	m, err := readManifest(opts)
	switch {
	case err == nil:
		return m, nil, nil
	case !errors.Is(err, manifest.ErrNotFound):
		return nil, nil, err
	case opts.BaseFrom == "":
		return nil, nil, fmt.Errorf("%w; if a release older than manifests generated it, give that release's binary with --base-from OLD_BINARY, and upgrade works out the inputs from the project", err)
	}
	return adopt(ctx, opts)
}

// adopt makes the manifest of a project that has none: its inputs from the
// project (the module from go.mod; the name and runtimes from the commands
// under cmd/; the template that was the only one then), and its files as
// the binary of opts.BaseFrom generates them from those inputs. The files
// are base, too.
func adopt(ctx context.Context, opts Options) (*manifest.Manifest, map[string]content, error) {
	inputs, err := inferInputs(opts.Dir)
	if err != nil {
		return nil, nil, fmt.Errorf("%s has no %s, and its inputs cannot be worked out: %w", opts.Dir, manifest.FileName, err)
	}
	m := &manifest.Manifest{
		Format:   manifest.Format,
		Template: generator.DefaultTemplate,
		Overlays: []string{},
		Inputs:   inputs,
	}
	if m.Generator, err = releaseOf(ctx, opts.BaseFrom); err != nil {
		return nil, nil, fmt.Errorf("--base-from: %w", err)
	}
	base, err := generatedBy(ctx, []string{opts.BaseFrom}, m)
	if err != nil {
		return nil, nil, fmt.Errorf("--base-from: %w", err)
	}
	delete(base, manifest.FileName)
	for p, c := range base {
		m.Files = append(m.Files, manifest.NewFile(p, "", manifest.Scaffold, c.data, c.mode))
	}
	slices.SortFunc(m.Files, func(a, b manifest.File) int { return strings.Compare(a.Path, b.Path) })
	return m, base, nil
}

// ownAsNext gives the records of an adopted manifest the owners and
// sources that this release's manifest next gives the same paths.
func ownAsNext(m, next *manifest.Manifest) {
	for i, f := range m.Files {
		if rec, ok := next.File(f.Path); ok {
			m.Files[i].Owner, m.Files[i].Source = rec.Owner, rec.Source
		}
	}
}

// inferInputs works out the inputs of new from a generated project: every
// front end has a command cmd/NAME, cmd/NAME-docker or cmd/NAME-cni.
func inferInputs(dir string) (manifest.Inputs, error) {
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return manifest.Inputs{}, err
	}
	module := modfile.ModulePath(gomod)
	if module == "" {
		return manifest.Inputs{}, errors.New("go.mod names no module")
	}
	entries, err := os.ReadDir(filepath.Join(dir, "cmd"))
	if err != nil {
		return manifest.Inputs{}, err
	}
	var cmds []string
	for _, e := range entries {
		if e.IsDir() {
			cmds = append(cmds, e.Name())
		}
	}
	for _, name := range cmds {
		in := manifest.Inputs{Name: name, Module: module, Runtimes: []string{generator.RuntimeNetavark}}
		rest := slices.DeleteFunc(slices.Clone(cmds), func(c string) bool { return c == name })
		for _, r := range []string{generator.RuntimeDocker, generator.RuntimeCNI} {
			if i := slices.Index(rest, name+"-"+r); i >= 0 {
				in.Runtimes = append(in.Runtimes, r)
				rest = slices.Delete(rest, i, i+1)
			}
		}
		if len(rest) == 0 {
			return in, nil
		}
	}
	return manifest.Inputs{}, fmt.Errorf("the commands under cmd/ (%s) are not NAME, NAME-docker and NAME-cni", strings.Join(cmds, ", "))
}

// releaseOf asks the netavark-plugin-gen binary bin which release it is.
func releaseOf(ctx context.Context, bin string) (manifest.Release, error) {
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return manifest.Release{}, fmt.Errorf("%s version: %w", bin, err)
	}
	r := manifest.Release{Module: generator.Module}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "netavark-plugin-gen":
			r.Version = f[1]
		case len(f) == 2 && f[0] == "commit:" && f[1] != "unknown":
			r.Commit = f[1]
		}
	}
	if r.Version == "" {
		return manifest.Release{}, fmt.Errorf("%s version: %q is not what netavark-plugin-gen says", bin, bytes.TrimSpace(out))
	}
	return r, nil
}
