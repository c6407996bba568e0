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
	unlock, err := Lock(dir, "br0")
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	path := filepath.Join(dir, "br0.lock")
	checkMode(t, dir, os.ModeDir|0o700)
	checkMode(t, path, 0o600)
	if got, want := readFile(t, path), strconv.Itoa(os.Getpid())+"\n"; got != want {
		t.Errorf("lock file holds %q, want the pid %q", got, want)
	}

	acquired := make(chan func() error)
	go func() {
		unlock2, err := Lock(dir, "br0")
		if err != nil {
			t.Errorf("second Lock: %v", err)
			close(acquired)
			return
		}
		acquired <- unlock2
	}()
	select {
	case <-acquired:
		t.Fatal("second Lock returned while the first was held")
	case <-time.After(100 * time.Millisecond):
	}
	if err := unlock(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	select {
	case unlock2, ok := <-acquired:
		if !ok {
			return
		}
		if err := unlock2(); err != nil {
			t.Fatalf("unlock: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second Lock still waiting after unlock")
	}
	if got := readFile(t, path); got != "" {
		t.Errorf("released lock file holds %q, want it empty", got)
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
