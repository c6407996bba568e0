package store

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

type record struct {
	Name  string
	Count int
}

func TestPutGetDelete(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("networks", "abc", record{"one", 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("networks", "abc", record{"two", 2}); err != nil {
		t.Fatal(err)
	}
	var got record
	if err := s.Get("networks", "abc", &got); err != nil || got != (record{"two", 2}) {
		t.Fatalf("Get = %+v, %v; want the second Put", got, err)
	}
	if err := s.Delete("networks", "abc"); err != nil {
		t.Fatal(err)
	}
	if err := s.Get("networks", "abc", &got); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete("networks", "abc"); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

// TestRestart checks that records outlive the Store: a restarted daemon
// opens a new Store on the same directory.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"n2", "n1"} {
		if err := s.Put("networks", id, record{Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put("endpoints", "e1", record{Name: "e1", Count: 7}); err != nil {
		t.Fatal(err)
	}

	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s2.List("networks")
	if err != nil || !slices.Equal(ids, []string{"n1", "n2"}) {
		t.Errorf("List(networks) = %v, %v; want [n1 n2]", ids, err)
	}
	var got record
	if err := s2.Get("endpoints", "e1", &got); err != nil || got != (record{"e1", 7}) {
		t.Errorf("Get(endpoints, e1) = %+v, %v", got, err)
	}
	if ids, err := s2.List("nothing"); err != nil || len(ids) != 0 {
		t.Errorf("List of an unused kind = %v, %v; want nothing", ids, err)
	}
}

// TestInterruptedWrite checks that a temporary file left by a crash during
// Put is neither listed nor kept, and the record keeps its old version.
func TestInterruptedWrite(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("endpoints", "e1", record{Name: "old"}); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, "endpoints", ".e1.json-123"+tmpSuffix)
	if err := os.WriteFile(leftover, []byte(`{"Name":"ha`), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open left %s: %v", leftover, err)
	}
	ids, _ := s2.List("endpoints")
	var got record
	if err := s2.Get("endpoints", "e1", &got); err != nil || got.Name != "old" || !slices.Equal(ids, []string{"e1"}) {
		t.Errorf("after a crash: Get = %+v, %v; List = %v", got, err, ids)
	}
}

func TestInvalidNames(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", ".", "..", "../x", "a/b", ".hidden", "a b", "a\x00b"} {
		if err := s.Put("networks", id, record{}); err == nil {
			t.Errorf("Put with id %q succeeded", id)
		}
		if err := s.Get("networks", id, &record{}); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Get with id %q: %v, want an invalid id error", id, err)
		}
	}
	if _, err := s.List("../x"); err == nil {
		t.Error("List with kind ../x succeeded")
	}
}

func TestFilesAreJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("networks", "n1", record{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "networks", "n1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"Name\": \"x\",\n  \"Count\": 0\n}\n"; string(data) != want {
		t.Errorf("file holds %q, want %q", data, want)
	}
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, %v; want 0700", info.Mode().Perm(), err)
	}
}

// TestPrivate checks the modes of what the store creates, and that it
// refuses a directory that others may write to or that another user owns.
func TestPrivate(t *testing.T) {
	// A umask that would let others in if the store left modes to it.
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("networks", "abc", record{"one", 1}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		dir:                            os.ModeDir | 0o700,
		filepath.Join(dir, "networks"): os.ModeDir | 0o700,
		filepath.Join(dir, "networks", "abc.json"): 0o600,
	} {
		info, err := os.Stat(path)
		if err != nil || info.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", path, info.Mode(), err, want)
		}
		if st := info.Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() {
			t.Errorf("%s: owner %d, want %d", path, st.Uid, os.Geteuid())
		}
	}

	for _, mode := range []os.FileMode{0o777, 0o770, 0o702, 0o1777} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "may write to it") {
			t.Errorf("Open of a directory of mode %v: %v, want a refusal", mode, err)
		}
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err != nil {
		t.Errorf("Open of a directory of mode 0750: %v", err)
	}
	if os.Geteuid() != 0 {
		return // only root gives files away
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("Open of a directory of another user: %v, want a refusal", err)
	}
}

// TestCorruptRecord checks that a record that does not decode, torn or
// garbage, is reported with its path and moved aside, and counts as missing
// from then on.
func TestCorruptRecord(t *testing.T) {
	for name, data := range map[string]string{"torn": `{"Name": "one", "Cou`, "garbage": "\x00\x17garbage"} {
		t.Run(name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Put("endpoints", "e1", record{Name: "one", Count: 1}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(s.Dir(), "endpoints", "e1.json")
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			var got record
			err = s.Get("endpoints", "e1", &got)
			if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotFound) {
				t.Fatalf("Get of a corrupt record: %v, want ErrCorrupt", err)
			}
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Fatalf("corrupt record moved aside to %v, want one file", aside)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, aside[0]) {
				t.Errorf("error %q does not name %s and %s", msg, path, aside[0])
			}
			if kept, err := os.ReadFile(aside[0]); err != nil || string(kept) != data {
				t.Errorf("moved aside: %q, %v; want the corrupt bytes", kept, err)
			}
			if err := s.Get("endpoints", "e1", &got); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after moving aside: %v, want ErrNotFound", err)
			}
			if ids, err := s.List("endpoints"); err != nil || len(ids) != 0 {
				t.Errorf("List = %v, %v; want nothing", ids, err)
			}
			if err := s.Put("endpoints", "e1", record{Name: "two"}); err != nil {
				t.Fatal(err)
			}
			if err := s.Get("endpoints", "e1", &got); err != nil || got.Name != "two" {
				t.Errorf("Get after a new Put = %+v, %v", got, err)
			}
		})
	}
}
