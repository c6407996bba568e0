package e2e

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"example.com/demo/internal/nstest"
)

// staticBusybox returns a statically linked busybox, the one program of
// the tests' containers: $BUSYBOX, else busybox on PATH. Without one the
// test skips or fails.
func staticBusybox(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("BUSYBOX")
	if bin == "" {
		bin, _ = exec.LookPath("busybox")
	}
	if bin == "" {
		nstest.SkipOrFail(t, "no busybox for the containers: install a static one (Debian: apt-get install busybox-static) or set BUSYBOX")
	}
	if err := staticELF(bin); err != nil {
		nstest.SkipOrFail(t, "busybox for the containers: "+err.Error()+" (Debian: apt-get install busybox-static)")
	}
	return bin
}

// staticELF checks that path is a statically linked executable, which runs
// in a root filesystem of its own.
func staticELF(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// busyboxRootfs makes dir a root filesystem of busybox and its applets,
// with an empty /www for httpd.
func busyboxRootfs(dir, busybox string) error {
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "tmp", "www"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("list the applets of %s: %w", busybox, err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil {
			return fmt.Errorf("link applet %s: %w", applet, err)
		}
	}
	return nil
}
