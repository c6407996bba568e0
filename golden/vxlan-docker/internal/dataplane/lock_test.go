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
	l, err := lock(dir, "br0")
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
		lock2, err := lock(dir, "br0")
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
	if err := l.unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	select {
	case lock2, ok := <-acquired:
		if !ok {
			return
		}
		if err := lock2.unlock(); err != nil {
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
	l, err := lock(dir, "br0")
	if err != nil {
		t.Fatal(err)
	}
	acquired := make(chan *FileLock, 1)
	go func() {
		lock2, err := lock(dir, "br0")
		if err != nil {
			t.Errorf("second Lock: %v", err)
		}
		acquired <- lock2
	}()
	time.Sleep(50 * time.Millisecond) // let it wait on the file
	l.RemoveOnUnlock()
	if err := l.unlock(); err != nil {
		t.Fatal(err)
	}
	lock2 := <-acquired
	if lock2 == nil {
		return
	}
	defer lock2.unlock()
	if got, want := readFile(t, path), strconv.Itoa(os.Getpid())+"\n"; got != want {
		t.Errorf("lock file after the waiter took it holds %q, want %q", got, want)
	}
	third := make(chan struct{})
	go func() {
		if l, err := lock(dir, "br0"); err == nil {
			l.unlock()
		}
		close(third)
	}()
	select {
	case <-third:
		t.Fatal("a third Lock got through while the waiter held the lock")
	case <-time.After(100 * time.Millisecond):
	}
	lock2.unlock()
	<-third
	if err := lock2.unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
}

func TestLockRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", ".", "..", "a/b"} {
		if _, err := lock(t.TempDir(), name); err == nil {
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
