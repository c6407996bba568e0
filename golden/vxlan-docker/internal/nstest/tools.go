package nstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// envTools names the directory where Main built the tests' tools before it
// moved them into a network namespace of their own, which has no route to
// the Go module proxy.
const envTools = "NSTEST_TOOLS"

// toolBuildFlags are the Makefile's, for every tool.
var toolBuildFlags = []string{"-trimpath", "-ldflags=-s -w"}

// installTool builds the command pkg@version into dir with go install,
// outside any module, so that its own go.mod decides its dependencies.
func installTool(dir, pkg string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cmd := exec.Command("go", append(append([]string{"install"}, toolBuildFlags...), pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go install %s: %w\n%s", pkg, err, out)
	}
	return nil
}

func toolPath(dir, pkg string) string {
	path, _, _ := strings.Cut(pkg, "@")
	return filepath.Join(dir, filepath.Base(path))
}

// tools remembers the tools built in this process, and why one could not
// be.
var tools struct {
	sync.Mutex
	dir  string
	errs map[string]error
}

// Tool returns the path of the command pkg@version: the one Main built for
// the test binary, or else one it builds now with go install, from the Go
// module proxy. Without it the test skips or fails.
func Tool(t testing.TB, pkg string) string {
	t.Helper()
	if dir := os.Getenv(envTools); dir != "" {
		if bin := toolPath(dir, pkg); fileExists(bin) {
			return bin
		}
		SkipOrFail(t, fmt.Sprintf("%s was not built before the tests left the host's network namespace (see the build error above)", pkg))
	}
	tools.Lock()
	defer tools.Unlock()
	if tools.dir == "" {
		dir, err := os.MkdirTemp("", "nstest-tools-")
		if err != nil {
			t.Fatal(err)
		}
		tools.dir = dir
		tools.errs = make(map[string]error)
	}
	err, tried := tools.errs[pkg]
	if !tried {
		err = installTool(tools.dir, pkg)
		tools.errs[pkg] = err
	}
	if err != nil {
		SkipOrFail(t, fmt.Sprintf("cannot build %s from the Go module proxy: %v", pkg, err))
	}
	return toolPath(tools.dir, pkg)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Build builds the Go program in pkg, a package path or a directory, into
// out, statically (CGO_ENABLED=0) as the Makefile does, with flags added to
// go build's.
func Build(out, pkg string, flags ...string) error {
	args := append([]string{"build", "-o", out}, flags...)
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", pkg, err, msg)
	}
	return nil
}
