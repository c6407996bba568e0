// Package pkgtest checks the packages that `make package` builds: the files
// they install, with their paths and modes, and that netavark runs the
// plugin as the .deb installs it.
//
// It runs make in the project root, which builds bin/demo as `make build`
// does, and nfpm with go run, which needs the Go module proxy (or nfpm in
// the module cache). Reading the packages needs dpkg-deb and rpm; running
// the plugin under netavark needs root and netavark. A test that lacks one
// of them skips and says why, or fails under TEST_NO_SKIP=1.
package pkgtest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"example.com/demo/internal/nstest"
	"example.com/demo/internal/protocol"
)

// driver is the plugin's name: its file name in the packages, and the driver
// name of its networks.
const driver = "demo"

// projectDir is the project root, where the Makefile is.
const projectDir = "../.."

// version is the VERSION the test packages, as git describe prints it four
// commits after a tag; pkgVersion is the version the packages get for it.
const (
	version    = "v1.2.3-4-gabc1234"
	pkgVersion = "1.2.3+4.gabc1234"
)

func TestPackages(t *testing.T) {
	dist := t.TempDir()
	makePackages(t, dist)
	deb := onlyMatch(t, dist, driver+"_*.deb")
	rpm := onlyMatch(t, dist, driver+"-*.rpm")

	t.Run("deb", func(t *testing.T) {
		dpkgDeb := requireTool(t, "dpkg-deb")
		if got := strings.TrimSpace(run(t, dpkgDeb, "--field", deb, "Version")); got != pkgVersion {
			t.Errorf("deb version %q, want %q", got, pkgVersion)
		}
		root := t.TempDir()
		run(t, dpkgDeb, "--extract", deb, root)
		pluginDir := filepath.Join(root, "usr/libexec/netavark")
		plugin := filepath.Join(pluginDir, driver)
		checkFile(t, plugin, 0o755)
		checkFile(t, filepath.Join(root, "usr/share/doc", driver, "README.md"), 0o644)
		checkFile(t, filepath.Join(root, "usr/share/doc", driver, "LICENSE"), 0o644)
		checkFile(t, filepath.Join(root, "usr/lib/systemd/system", driver+"-agent.service"), 0o644)
		checkFile(t, filepath.Join(root, "usr/bin", driver+"-agent"), 0o755)
		// netavark takes every executable of its plugin directory for a
		// plugin: the plugin is alone there.
		if entries, err := os.ReadDir(pluginDir); err != nil || len(entries) != 1 {
			t.Errorf("%s: %v, want the plugin alone", pluginDir, err)
		}
		checkInfo(t, plugin)

		t.Run("unconfigured", func(t *testing.T) {
			checkUnconfigured(t, plugin)
		})
	})

	t.Run("rpm", func(t *testing.T) {
		rpmCmd := requireTool(t, "rpm")
		if got := run(t, rpmCmd, "-qp", "--queryformat", "%{VERSION}", rpm); got != pkgVersion {
			t.Errorf("rpm version %q, want %q", got, pkgVersion)
		}
		// rpm -qlp with each file's mode: the file list exactly, and the
		// plugin executable.
		got := run(t, rpmCmd, "-qp", "--queryformat", "[%{FILEMODES:perms} %{FILENAMES}\n]", rpm)
		want := "-rwxr-xr-x /usr/bin/" + driver + "-agent\n" +
			"-rw-r--r-- /usr/lib/systemd/system/" + driver + "-agent.service\n" +
			"-rwxr-xr-x /usr/libexec/netavark/" + driver + "\n" +
			"-rw-r--r-- /usr/share/doc/" + driver + "/LICENSE\n" +
			"-rw-r--r-- /usr/share/doc/" + driver + "/README.md\n"
		if got != want {
			t.Errorf("rpm files:\n%swant:\n%s", got, want)
		}
	})
}

// TestPackageVersion checks the versions that packages get for what git
// describe prints: semver, so that nfpm writes them in deb and rpm syntax,
// with commits after a tag sorting after it.
func TestPackageVersion(t *testing.T) {
	tests := []struct{ describe, want string }{
		{"v1.2.3", "1.2.3"},
		{"v1.2.3-rc.1", "1.2.3-rc.1"},
		{"v1.2.3-4-gabc1234", "1.2.3+4.gabc1234"},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3+4.gabc1234.dirty"},
		{"v1.2.3-rc-1-10-gabc1234", "1.2.3-rc.1+10.gabc1234"},
		{"abc1234", "0.0.0+abc1234"},
		{"abc1234-dirty", "0.0.0+abc1234.dirty"},
		{"0.0.0-dev", "0.0.0-dev"},
		{"release/x_y", "0.0.0+release.x.y"},
		{"", "0.0.0"},
	}
	for _, tt := range tests {
		if got := strings.TrimSpace(run(t, "sh", projectDir+"/scripts/package-version.sh", tt.describe)); got != tt.want {
			t.Errorf("package-version.sh %q = %q, want %q", tt.describe, got, tt.want)
		}
	}
}

// TestSpec checks that rpm parses the spec file and that it packages the
// plugin and the agent where the .rpm of make package has them.
func TestSpec(t *testing.T) {
	rpmspec := requireTool(t, "rpmspec")
	spec := filepath.Join(projectDir, "packaging", driver+".spec")
	if got := run(t, rpmspec, "--query", "--srpm", "--queryformat", "%{NAME}", spec); got != driver {
		t.Errorf("spec names package %q, want %q", got, driver)
	}
	// %{_libexecdir} is /usr/libexec on Fedora and on current rpm; older
	// rpm macros said /usr/lib.
	parsed := run(t, rpmspec, "--parse", "--define", "_libexecdir /usr/libexec", spec)
	_, files, _ := strings.Cut(parsed, "\n%files\n")
	for _, f := range []string{"/usr/libexec/netavark/" + driver, "/usr/bin/" + driver + "-agent"} {
		if !slices.Contains(strings.Split(files, "\n"), f) {
			t.Errorf("%%files of the spec does not list %s:\n%s", f, files)
		}
	}
}

// makePackages runs `make package` with the output in dist, and the
// Makefile's nfpm, built before the test.
func makePackages(t *testing.T, dist string) {
	t.Helper()
	makeCmd := requireTool(t, "make")
	cmd := exec.Command(makeCmd, "package", "DIST="+dist, "VERSION="+version, "NFPM="+nstest.Tool(t, nfpmPkg))
	cmd.Dir = projectDir
	// Under `make test` the outer make passes its flags and command-line
	// variables down in the environment; this make gets only the test's.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "MAKEFLAGS" || name == "MFLAGS" || name == "MAKELEVEL"
	})
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
}

// requireTool returns the path of the program name, or skips or fails the
// test without it.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		nstest.SkipOrFail(t, name+" not found: the packages and the spec are read with dpkg-deb, rpm and rpmspec (apt-get install dpkg rpm)")
	}
	return p
}

// run runs a command and returns its stdout, failing the test if it fails.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.String()
}

// onlyMatch returns the one file in dir that matches pattern.
func onlyMatch(t testing.TB, dir, pattern string) string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) != 1 {
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("want one %s in the output of make package, found %d among %q", pattern, len(matches), names)
	}
	return matches[0]
}

// checkFile checks that path is a regular file with permissions perm.
func checkFile(t testing.TB, path string, perm os.FileMode) {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Errorf("package lacks a file: %v", err)
		return
	}
	if !info.Mode().IsRegular() || info.Mode().Perm() != perm {
		t.Errorf("%s has mode %v, want a regular file with %v", path, info.Mode(), perm)
	}
}

// checkInfo checks that the packaged plugin is the one just built: it runs
// and reports the version make was given.
func checkInfo(t testing.TB, plugin string) {
	t.Helper()
	var info protocol.Info
	if out := run(t, plugin, "info"); json.Unmarshal([]byte(out), &info) != nil || info.Version != version {
		t.Errorf("%s info printed %q, want version %q", plugin, out, version)
	}
}

// checkUnconfigured checks that the packaged plugin, on a host that has no
// configuration yet, says what it needs: etcd, and where to write it.
func checkUnconfigured(t *testing.T, plugin string) {
	cmd := exec.Command(plugin, "create")
	cmd.Stdin = strings.NewReader(`{"name":"n","id":"i","driver":"` + driver + `","subnets":[{"subnet":"10.237.0.0/24"}]}`)
	cmd.Env = append(os.Environ(), "DEMO_CONFIG="+filepath.Join(t.TempDir(), "config.json"))
	out, err := cmd.Output()
	var answer struct{ Error string }
	if err == nil || json.Unmarshal(out, &answer) != nil || !strings.Contains(answer.Error, "etcd") {
		t.Errorf("%s create without a configuration: %v, printed %q; want an error answer that asks for etcd", plugin, err, out)
	}
}
