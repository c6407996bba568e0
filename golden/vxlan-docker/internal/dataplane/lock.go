package dataplane

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Locked runs fn holding an exclusive lock named name in dir, waiting for it
// as long as it takes. Callers lock the bridge's name around Attach and
// Detach: containers are set up in parallel (podman runs one netavark, and
// so one plugin process, per container), and without the lock one could
// create the bridge while another deletes it as unused, or add a port to a
// bridge being deleted. fn may ask for the lock file to be removed when it
// returns (FileLock.RemoveOnUnlock), once what it locks is gone.
func Locked(dir, name string, fn func(*FileLock) error) error {
	l, err := lock(dir, name)
	if err != nil {
		return err
	}
	return errors.Join(fn(l), l.unlock())
}

// lock takes the lock of Locked and returns it held.
//
// The lock is flock(2) on dir/name.lock, so it works between processes and
// between goroutines of one process alike, and the kernel releases it if the
// holder dies. The holder's pid is written into the file to show who holds
// it. dir is created with mode 0700 and the file with 0600 if missing. A
// holder may remove the file when what it locks is gone (RemoveOnUnlock), so
// that lock files do not pile up: a process that was waiting on the removed
// file notices that its file has no name any more, and locks the new one.
func lock(dir, name string) (*FileLock, error) {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return nil, fmt.Errorf("invalid lock name %q", name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create lock directory: %w", err)
	}
	path := filepath.Join(dir, name+".lock")
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open lock file: %w", err)
		}
		if err := flock(f, unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		current, err := sameFile(f, path)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !current {
			f.Close() // removed by the holder before us: take the new file
			continue
		}
		if err := writePID(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("write pid to %s: %w", path, err)
		}
		return &FileLock{f: f, path: path}, nil
	}
}

// FileLock is a lock held by Locked.
type FileLock struct {
	f      *os.File
	path   string
	remove bool
}

// RemoveOnUnlock makes Locked remove the lock file when it releases the
// lock: for the lock of a bridge that the holder has deleted.
func (l *FileLock) RemoveOnUnlock() { l.remove = true }

// unlock releases the lock. Calls after the first do nothing.
func (l *FileLock) unlock() error {
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	if l.remove {
		// Removed while held, so that no process can lock the file and
		// find it still named.
		err := os.Remove(l.path)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		return errors.Join(err, f.Close())
	}
	// Empty the file first so that it never names a past holder.
	terr := f.Truncate(0)
	// Closing the last descriptor of the file releases the lock.
	return errors.Join(terr, f.Close())
}

// sameFile reports whether f is still the file at path.
func sameFile(f *os.File, path string) (bool, error) {
	held, err := f.Stat()
	if err != nil {
		return false, err
	}
	named, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(held, named), nil
}

// flock applies how to f, going on after signals interrupt the wait.
func flock(f *os.File, how int) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = conn.Control(func(fd uintptr) {
		for {
			ferr = unix.Flock(int(fd), how)
			if !errors.Is(ferr, unix.EINTR) {
				return
			}
		}
	})
	return errors.Join(err, ferr)
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}
