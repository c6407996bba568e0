package generator

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotEmpty is returned by Write in mode New when the target directory
// holds files.
var ErrNotEmpty = errors.New("directory exists and is not empty")

// Mode says what Write does with a directory that holds files.
type Mode int

const (
	// New refuses a directory that holds files.
	New Mode = iota
	// Over replaces the files that it writes, one rename each, and keeps
	// the others (new --force, schema --out).
	Over
	// Replace makes the directory hold the files and nothing else, in one
	// rename (the golden projects).
	Replace
)

// Write puts files into dir, as mode says, so that a failure leaves nothing
// behind: the files are written into a temporary directory beside dir,
// which is then renamed into place (or, in mode Over, whose files are).
func Write(dir string, files FileSet, mode Mode) (err error) {
	dir = filepath.Clean(dir)
	empty, err := isEmptyDir(dir)
	if err != nil {
		return err
	}
	if !empty && mode == New {
		return fmt.Errorf("write %s: %w (pass --force to write into it)", dir, ErrNotEmpty)
	}

	parent := filepath.Dir(dir)
	created, err := mkdirAllTracked(parent)
	if err != nil {
		return fmt.Errorf("create %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	defer func() {
		if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
			err = fmt.Errorf("remove %s: %w", tmp, rmErr)
		}
		if err != nil && created != "" {
			os.RemoveAll(created)
		}
	}()
	for _, f := range files {
		if err := writeFile(filepath.Join(tmp, filepath.FromSlash(f.Path)), f); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}

	switch {
	case !empty && mode == Over:
		return replaceFiles(tmp, dir, files)
	case !empty && mode == Replace:
		return replaceDir(tmp, dir)
	}
	// rename(2) could replace an empty directory, but os.Rename refuses to;
	// the empty directory holds nothing to lose.
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	return nil
}

// replaceDir puts the directory tmp in dir's place, and removes the old dir.
func replaceDir(tmp, dir string) error {
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return errors.Join(fmt.Errorf("write %s: %w", dir, err), os.Rename(old, dir))
	}
	return os.RemoveAll(old)
}

// isEmptyDir reports whether dir is missing or an empty directory.
func isEmptyDir(dir string) (bool, error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("write %s: %w", dir, err)
	case !info.IsDir():
		return false, fmt.Errorf("write %s: exists and is not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("write %s: %w", dir, err)
	}
	return len(entries) == 0, nil
}

// mkdirAllTracked creates dir and its missing parents and returns the
// topmost directory it created, or "" if dir existed.
func mkdirAllTracked(dir string) (string, error) {
	top := ""
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		top = d
		if filepath.Dir(d) == d {
			break
		}
	}
	if top == "" {
		return "", nil
	}
	return top, os.MkdirAll(dir, 0o755)
}

// writeFile writes f at path, creating its directory.
func writeFile(path string, f File) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, f.Data, f.Mode); err != nil {
		return err
	}
	// WriteFile's mode is filtered by the umask; generated files get theirs.
	return os.Chmod(path, f.Mode)
}

// replaceFiles moves each generated file from tmp over its copy in dir.
func replaceFiles(tmp, dir string, files FileSet) error {
	for _, f := range files {
		from := filepath.Join(tmp, filepath.FromSlash(f.Path))
		to := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", to, err)
		}
		if err := os.Rename(from, to); err != nil {
			return fmt.Errorf("write %s: %w", to, err)
		}
	}
	return nil
}
