package dataplane

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Lock takes an exclusive lock named name in dir, waiting for it as long as
// it takes, and returns the function that releases it. Callers lock the
// bridge's name around Attach and Detach: containers are set up in parallel
// (podman runs one netavark, and so one plugin process, per container), and
// without the lock one could create the bridge while another
// deletes it as unused, or add a port to a bridge being deleted.
//
// The lock is flock(2) on dir/name.lock, so it works between processes and
// between goroutines of one process alike, and the kernel releases it if the
// holder dies. The holder's pid is written into the file to show who holds
// it. dir is created with mode 0700 and the file with 0600 if missing; the
// file is never removed, since removing it would let a waiter lock a file
// that no longer has a name.
func Lock(dir, name string) (unlock func() error, err error) {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return nil, fmt.Errorf("invalid lock name %q", name)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create lock directory: %w", err)
	}
	path := filepath.Join(dir, name+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := flock(f, unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := writePID(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("write pid to %s: %w", path, err)
	}
	return func() error {
		// Empty the file first so that it never names a past holder.
		terr := f.Truncate(0)
		// Closing the last descriptor of the file releases the lock.
		return errors.Join(terr, f.Close())
	}, nil
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
