// Package store keeps small JSON records on disk, one file each, so that a
// process finds them again: the Docker daemon after a restart (the engine
// calls DeleteEndpoint, Leave and DeleteNetwork for objects it created
// before the daemon last started), and the CNI plugin at its next run (GC
// must find the attachments that the runtime no longer lists). Start with
// Store.
//
// A record is written to a temporary file that is synced, renamed over the
// old one and the directory synced, so that after a crash a record is
// either its old or its new version, never a mix, and a Put that returned
// survives a power loss.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// ErrNotFound is returned by Get for a record that does not exist.
var ErrNotFound = errors.New("not found")

// ErrCorrupt is wrapped by the error of Get for a record that does not
// decode: one that was written by hand, or damaged on disk (a store's own
// writes are never torn). Get moves such a file aside, so that the record
// counts as missing from then on while its bytes stay for the operator to
// read: DIR/KIND/ID.json becomes DIR/KIND/ID.json.corrupt-TIMESTAMP. The
// error names both paths; callers log it.
var ErrCorrupt = errors.New("corrupt record")

// corruptSuffix starts the suffix of a record moved aside.
const corruptSuffix = ".corrupt-"

// Store is a directory of records, grouped by kind: DIR/KIND/ID.json.
// Its methods are safe for one process at a time; callers serialise their
// read-modify-write sequences themselves.
type Store struct {
	dir string
}

// tmpSuffix ends the name of a record being written; Open removes such
// files, which a crash left behind.
const tmpSuffix = ".tmp"

// Open returns the store in dir, creating dir (mode 0700) if missing, and
// removes what interrupted writes left. It refuses a dir that CheckPrivate
// refuses: whoever can write the records can make the program that trusts
// them delete links and firewall rules.
func Open(dir string) (*Store, error) {
	if err := CheckPrivate(dir); err != nil {
		return nil, err
	}
	leftovers, err := filepath.Glob(filepath.Join(dir, "*", ".*"+tmpSuffix))
	if err != nil {
		return nil, err
	}
	for _, f := range leftovers {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove interrupted write: %w", err)
		}
	}
	return &Store{dir: dir}, nil
}

// CheckPrivate creates dir with mode 0700 if it is missing, else checks
// that it is a directory that the process's user owns and that neither its
// group nor others may write to.
func CheckPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by this process's user (uid %d): chown it or choose another directory", dir, st.Uid, os.Geteuid())
	}
	if perm := info.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s has mode %04o: its group or others may write to it; chmod go-w it (0700 is best)", dir, perm)
	}
	return nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Put writes v as the record kind/id, replacing any earlier version.
func (s *Store) Put(kind, id string, v any) error {
	p, err := s.path(kind, id)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", kind, id, err)
	}
	if err := writeFileAtomic(p, append(data, '\n')); err != nil {
		return fmt.Errorf("write %s %s: %w", kind, id, err)
	}
	return nil
}

// Get reads the record kind/id into v. It returns an error wrapping
// ErrNotFound if there is none.
func (s *Store) Get(kind, id string, v any) error {
	p, err := s.path(kind, id)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s %s: %w", kind, id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("read %s %s: %w", kind, id, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return moveAside(p, fmt.Errorf("%w: %s %s: %s: %w", ErrCorrupt, kind, id, p, err))
	}
	return nil
}

// moveAside renames the corrupt record at p, whose decoding failed with
// err, to a name that List skips, and returns err with the new name.
func moveAside(p string, err error) error {
	aside := p + corruptSuffix + time.Now().UTC().Format("20060102T150405.000000000Z")
	if rerr := os.Rename(p, aside); rerr != nil {
		return errors.Join(err, fmt.Errorf("move it aside: %w", rerr))
	}
	if serr := syncDir(filepath.Dir(p)); serr != nil {
		return errors.Join(err, serr)
	}
	return fmt.Errorf("%w; moved aside to %s", err, aside)
}

// Delete removes the record kind/id. Removing a missing record is not an
// error.
func (s *Store) Delete(kind, id string) error {
	p, err := s.path(kind, id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s %s: %w", kind, id, err)
	}
	return syncDir(filepath.Dir(p))
}

// List returns the ids of the records of kind, sorted.
func (s *Store) List(kind string) ([]string, error) {
	if err := checkName("kind", kind); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(s.dir, kind))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok && !strings.HasPrefix(id, ".") && e.Type().IsRegular() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// path returns the file of kind/id. Both come from the outside (the engine
// chooses ids), so both must be plain file names.
func (s *Store) path(kind, id string) (string, error) {
	if err := checkName("kind", kind); err != nil {
		return "", err
	}
	if err := checkName("id", id); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, kind, id+".json"), nil
}

// checkName refuses what could leave the store's directory or hide a
// record: path separators, a leading dot, and anything but letters,
// digits, '-', '_' and '.'.
func checkName(what, name string) error {
	ok := name != "" && len(name) <= 200 && name[0] != '.' &&
		!strings.ContainsFunc(name, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
		})
	if !ok {
		return fmt.Errorf("invalid %s %q: want letters, digits, '-', '_' or '.', not first", what, name)
	}
	return nil
}

// writeFileAtomic replaces the file at p with data: temporary file, fsync,
// rename, fsync of the directory.
func writeFileAtomic(p string, data []byte) (err error) {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(p)+"-*"+tmpSuffix)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
