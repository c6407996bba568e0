package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/check"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/internal/testenv"
)

func TestNewCmdCheckFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    CheckOptions
		wantErr bool
	}{
		{"plugin only", []string{"bin/p"}, CheckOptions{Config: check.Config{Plugin: "bin/p", Timeout: check.DefaultTimeout}}, false},
		{"every flag", []string{"--json", "--network", "n.json", "--timeout", "3s", "--netns", "--netavark", "/x/netavark", "p"},
			CheckOptions{JSON: true, NetworkFile: "n.json", Config: check.Config{Plugin: "p", Timeout: 3 * time.Second, Netns: true, Netavark: "/x/netavark"}}, false},
		{"flags after the plugin", []string{"p", "--netns"}, CheckOptions{Config: check.Config{Plugin: "p", Timeout: check.DefaultTimeout, Netns: true}}, false},
		{"no plugin", nil, CheckOptions{}, true},
		{"two plugins", []string{"a", "b"}, CheckOptions{}, true},
		{"bad timeout", []string{"--timeout", "soon", "p"}, CheckOptions{}, true},
		{"unknown flag", []string{"--dir", "x", "p"}, CheckOptions{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *CheckOptions
			cmd := NewCmdCheck(func(_ context.Context, o *CheckOptions) error {
				got = o
				return nil
			})
			if !executeCmd(t, cmd, tt.args, tt.wantErr) {
				return
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if got.Out == nil {
				t.Error("Out not set")
			}
			got.Out = nil
			if got.JSON != tt.want.JSON || got.NetworkFile != tt.want.NetworkFile ||
				got.Config.Plugin != tt.want.Config.Plugin || got.Config.Timeout != tt.want.Config.Timeout ||
				got.Config.Netns != tt.want.Config.Netns || got.Config.Netavark != tt.want.Config.Netavark ||
				got.Config.Network != nil {
				t.Errorf("options %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// TestCheckScripts runs the check command from the scripts in
// testdata/check, with the plugins of check/testdata/plugins built into
// $PLUGINS and a netavark, if one is found, in $NETAVARK. The conditions
// [root] and [netavark] say whether the setup and teardown cycles can run;
// with TEST_NO_SKIP=1 their absence fails the script instead.
func TestCheckScripts(t *testing.T) {
	plugins := buildPlugins(t, t.TempDir())
	netavark := testenv.Netavark()
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/check",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("PLUGINS", plugins)
			env.Setenv("NETAVARK", netavark)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			var ok bool
			switch cond {
			case "root":
				ok = os.Geteuid() == 0
			case "netavark":
				ok = netavark != ""
			default:
				return false, errors.New("unknown condition " + cond)
			}
			if !ok && testenv.NoSkip() {
				return false, errors.New("condition " + cond + " is false and TEST_NO_SKIP=1 forbids skipping")
			}
			return ok, nil
		},
	})
}

// buildPlugins builds the test plugins of package check into dir, each
// named after its directory, and returns dir.
func buildPlugins(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join("..", "..", "check", "testdata", "plugins")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "internal" {
			args = append(args, "./"+filepath.Join(src, e.Name()))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return dir
}
