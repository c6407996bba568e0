package dataplane

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	lock, err := Lock(dir, "br0")
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	path := filepath.Join(dir, "br0.lock")
	checkMode(t, dir, os.ModeDir|0o700)
	checkMode(t, path, 0o600)
	if got, want := readFile(t, path), strconv.Itoa(os.Getpid())+"\n"; got != want {
		t.Errorf("lock file holds %q, want the pid %q", got, want)
	}

	acquired := make(chan *FileLock)
	go func() {
		lock2, err := Lock(dir, "br0")
		if err != nil {
			t.Errorf("second Lock: %v", err)
			close(acquired)
			return
		}
		acquired <- lock2
	}()
	select {
	case <-acquired:
		t.Fatal("second Lock returned while the first was held")
	case <-time.After(100 * time.Millisecond):
	}
	if err := lock.Unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	select {
	case lock2, ok := <-acquired:
		if !ok {
			return
		}
		if err := lock2.Unlock(); err != nil {
			t.Fatalf("unlock: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second Lock still waiting after unlock")
	}
	if got := readFile(t, path); got != "" {
		t.Errorf("released lock file holds %q, want it empty", got)
	}
}

// A holder that removes the lock file lets a waiter through, which must
// then hold the lock on a file that is named, so that a third process
// locking the name waits for it.
func TestLockRemoveOnUnlock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "br0.lock")
	lock, err := Lock(dir, "br0")
	if err != nil {
		t.Fatal(err)
	}
	acquired := make(chan *FileLock, 1)
	go func() {
		lock2, err := Lock(dir, "br0")
		if err != nil {
			t.Errorf("second Lock: %v", err)
		}
		acquired <- lock2
	}()
	time.Sleep(50 * time.Millisecond) // let it wait on the file
	lock.RemoveOnUnlock()
	if err := lock.Unlock(); err != nil {
		t.Fatal(err)
	}
	lock2 := <-acquired
	if lock2 == nil {
		return
	}
	defer lock2.Unlock()
	if got, want := readFile(t, path), strconv.Itoa(os.Getpid())+"\n"; got != want {
		t.Errorf("lock file after the waiter took it holds %q, want %q", got, want)
	}
	third := make(chan struct{})
	go func() {
		if l, err := Lock(dir, "br0"); err == nil {
			l.Unlock()
		}
		close(third)
	}()
	select {
	case <-third:
		t.Fatal("a third Lock got through while the waiter held the lock")
	case <-time.After(100 * time.Millisecond):
	}
	lock2.Unlock()
	<-third
	if err := lock2.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
}

func TestLockRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b"} {
		if _, err := Lock(t.TempDir(), name); err == nil {
			t.Errorf("Lock(%q) succeeded", name)
		}
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode(), want)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
