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
	"strings"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/manifest"
)

// content is a file's content and permission bits.
type content struct {
	data []byte
	mode fs.FileMode
}

// equal reports whether a and b are both absent or hold the same bytes and
// permission bits.
func equal(a, b *content) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.mode == b.mode && bytes.Equal(a.data, b.data)
}

// findBase returns the files of paths as the release of m generated them,
// and says where it found them: in the binary of --base-from, else in the
// git objects of the project, else in the release fetched with go run.
func findBase(ctx context.Context, opts Options, m *manifest.Manifest, paths []string) (map[string]content, string, error) {
	if opts.BaseFrom != "" {
		files, err := generatedBy(ctx, []string{opts.BaseFrom}, m)
		if err == nil {
			err = matchRecords(m, paths, files, opts.BaseFrom)
		}
		if err != nil {
			return nil, "", fmt.Errorf("--base-from: %w", err)
		}
		return files, opts.BaseFrom, nil
	}
	files, gitErr := fromGit(ctx, opts.Dir, m, paths)
	if gitErr == nil {
		return files, "the project's git objects", nil
	}
	goRun := "go run " + m.Generator.Module + "/cmd/netavark-plugin-gen@" + m.Generator.Query()
	files, runErr := fromRelease(ctx, m)
	if runErr == nil {
		runErr = matchRecords(m, paths, files, goRun)
	}
	if runErr == nil {
		return files, goRun, nil
	}
	return nil, "", fmt.Errorf(`upgrade merges your changes with the template's, and needs for that the files as netavark-plugin-gen %s generated them; it found them in none of the three places it looks:
  1. --base-from OLD_BINARY: not given (a netavark-plugin-gen binary of %[1]s)
  2. the project's git objects: %v (commit a project right after new, before editing it)
  3. the Go toolchain: %v
nothing was changed`, m.Generator.Version, gitErr, runErr)
}

// fromGit reads the files of paths from the git objects of the repository
// of dir, by the blob ids that m records.
func fromGit(ctx context.Context, dir string, m *manifest.Manifest, paths []string) (map[string]content, error) {
	if !inRepo(ctx, dir) {
		return nil, errors.New("not in a git repository")
	}
	ids := make([]string, len(paths))
	for i, p := range paths {
		f, _ := m.File(p)
		ids[i] = f.GitBlob
	}
	blobs, err := readBlobs(ctx, dir, ids)
	if err != nil {
		return nil, err
	}
	files := make(map[string]content, len(paths))
	for _, p := range paths {
		f, _ := m.File(p)
		mode, err := f.Perm()
		if err != nil {
			return nil, err
		}
		files[p] = content{data: blobs[f.GitBlob], mode: mode}
	}
	return files, nil
}

// fromRelease runs the release of m, fetched by the Go toolchain.
func fromRelease(ctx context.Context, m *manifest.Manifest) (map[string]content, error) {
	q := m.Generator.Query()
	if q == "" {
		return nil, fmt.Errorf("%s records no version or commit to fetch %s at", manifest.FileName, m.Generator.Version)
	}
	if _, err := exec.LookPath("go"); err != nil {
		return nil, errors.New("no go command in PATH")
	}
	return generatedBy(ctx, []string{"go", "run", m.Generator.Module + "/cmd/netavark-plugin-gen@" + q}, m)
}

// generatedBy runs the command argv (a netavark-plugin-gen) with new and
// the inputs of m in a scratch directory, and returns the files it wrote.
func generatedBy(ctx context.Context, argv []string, m *manifest.Manifest) (map[string]content, error) {
	scratch, err := os.MkdirTemp("", "netavark-plugin-gen-base-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	dir := filepath.Join(scratch, m.Inputs.Name)
	args := append(argv[1:], "new", m.Inputs.Name, "--module", m.Inputs.Module,
		"--template", m.Template, "--runtimes", strings.Join(m.Inputs.Runtimes, ","), "--dir", dir)
	cmd := exec.CommandContext(ctx, argv[0], args...)
	cmd.Dir = scratch
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, bytes.TrimSpace(out))
	}
	files := make(map[string]content)
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = content{data: data, mode: info.Mode().Perm()}
		return err
	})
	return files, err
}

// matchRecords checks that files hold each of paths as m records it: that
// they are what the release of m generated.
func matchRecords(m *manifest.Manifest, paths []string, files map[string]content, from string) error {
	for _, p := range paths {
		f, _ := m.File(p)
		c, ok := files[p]
		if !ok || !f.Matches(c.data, c.mode) {
			return fmt.Errorf("%s does not generate %s as %s records it: not the release that generated the project (%s)",
				from, p, manifest.FileName, m.Generator.Version)
		}
	}
	return nil
}
