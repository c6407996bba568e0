package check

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// netavarkCases runs the setup and teardown cycle through a real netavark,
// which finds the plugin by its driver name in a plugin directory.
func (s *suite) netavarkCases(ctx context.Context) {
	if reason := needsRoot(); reason != "" {
		s.skip("netavark", nil, "%s", reason)
		return
	}
	netavark, err := executable(s.cfg.Netavark)
	if err != nil {
		s.fail("netavark", nil, "netavark: %v", err)
		return
	}
	dir, err := os.MkdirTemp("", "nvpg-check-netavark-")
	if err != nil {
		s.fail("netavark", nil, "create a config directory: %v", err)
		return
	}
	defer os.RemoveAll(dir)
	configDir, pluginDir := filepath.Join(dir, "config"), filepath.Join(dir, "plugins")
	if err := preparePluginDir(pluginDir, s.plugin, s.driver); err != nil {
		s.fail("netavark", nil, "%v", err)
		return
	}
	var env []string
	if _, set := os.LookupEnv("NETAVARK_FW"); !set {
		// The plugin is under test, not the host's firewall.
		env = append(env, "NETAVARK_FW=none")
	}
	netavarkRun := func(ctx context.Context, cmd, path string, req request) *run {
		opts := types.NetavarkOptions{
			ContainerID:   req.exec.ContainerID,
			ContainerName: req.exec.ContainerName,
			Networks:      map[string]types.PerNetworkOptions{req.exec.Network.Name: req.exec.NetworkOptions},
			NetworkInfo:   map[string]types.Network{req.exec.Network.Name: req.exec.Network},
		}
		stdin, err := json.Marshal(opts)
		if err != nil {
			return &run{got: Got{ExitStatus: -1, StartError: fmt.Sprintf("encode netavark input: %v", err)}}
		}
		argv := []string{netavark, "--config", configDir, "--plugin-directory", pluginDir, cmd, path}
		return execute(ctx, s.cfg.Timeout, "", argv, env, stdin)
	}
	s.runCycle(ctx, cycle{
		prefix: "netavark",
		setup: func(ctx context.Context, path string, req request) (*run, json.RawMessage, error) {
			r := netavarkRun(ctx, "setup", path, req)
			v, err := successAnswer(r)
			if err != nil {
				return r, nil, err
			}
			// netavark answers a status block per network, by name.
			m, err := object(v, "netavark's answer")
			if err != nil {
				return r, nil, err
			}
			status, ok := m[req.exec.Network.Name]
			if !ok {
				return r, nil, fmt.Errorf("netavark's answer has no status for network %q", req.exec.Network.Name)
			}
			return r, status, nil
		},
		teardown: func(ctx context.Context, path string, req request) *run {
			return netavarkRun(ctx, "teardown", path, req)
		},
	})
}

// preparePluginDir makes dir a netavark plugin directory holding the plugin
// under its driver name.
func preparePluginDir(dir, plugin, driver string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create plugin directory: %w", err)
	}
	if err := os.Symlink(plugin, filepath.Join(dir, driver)); err != nil {
		return fmt.Errorf("link the plugin into the plugin directory: %w", err)
	}
	return nil
}
