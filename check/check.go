package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DefaultTimeout bounds each run of the plugin unless [Config.Timeout] says
// otherwise.
const DefaultTimeout = 10 * time.Second

// Config says which plugin to check and how.
type Config struct {
	// Plugin is the path of the plugin executable. Its file name is the
	// driver name, as in a netavark plugin directory.
	Plugin string
	// Network, if set, is the JSON network used for create and setup
	// instead of the built-in ones. Its driver is replaced by the plugin's.
	Network []byte
	// Timeout bounds each run of the plugin or of netavark: it must exit and
	// close its stdout within it. Zero means [DefaultTimeout].
	Timeout time.Duration
	// Netns runs the setup and teardown cases in a scratch network
	// namespace, and the published port cases in scratch namespaces of a
	// host, an outside network and a container. It needs root.
	Netns bool
	// Netavark, if set, is the path of a netavark binary to run setup and
	// teardown through. It needs root.
	Netavark string
}

// suite is one run of the cases against one plugin.
type suite struct {
	cfg    Config
	plugin string // absolute path of the plugin
	driver string
	report *Report
	// networks counts the test networks made, each on a subnet of its
	// own (testSubnet).
	networks int
}

// Run checks the plugin of cfg and returns the report. It returns an error
// only when the suite cannot run at all: the plugin is not an executable
// file or cfg.Network is not a JSON object. A context that ends kills the
// run of the plugin in progress and fails the cases left: the current group
// of cases ends, with its cleanup, and the next groups do not run.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	plugin, err := executable(cfg.Plugin)
	if err != nil {
		return nil, fmt.Errorf("plugin: %w", err)
	}
	if cfg.Network != nil {
		if _, err := object(cfg.Network, "the network"); err != nil {
			return nil, fmt.Errorf("network: %w", err)
		}
	}
	s := &suite{
		cfg:    cfg,
		plugin: plugin,
		driver: filepath.Base(plugin),
		report: &Report{Plugin: cfg.Plugin, Driver: filepath.Base(plugin)},
	}
	groups := []func(context.Context){s.infoCases, s.createCases, s.errorCases}
	if cfg.Netns {
		groups = append(groups, s.netnsCases, s.portsCases)
	}
	if cfg.Netavark != "" {
		groups = append(groups, s.netavarkCases)
	}
	for _, group := range groups {
		if err := ctx.Err(); err != nil {
			s.fail("interrupted", nil, "the cases left did not run: %v", err)
			break
		}
		group(ctx)
	}
	return s.report, nil
}

// executable returns the absolute path of the file at path, which must be a
// regular executable file, as netavark requires of a plugin.
func executable(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s: not an executable regular file", path)
	}
	return abs, nil
}

// runPlugin runs the plugin with args and stdin.
func (s *suite) runPlugin(ctx context.Context, stdin []byte, args ...string) *run {
	return s.runPluginIn(ctx, "", stdin, args...)
}

// runPluginIn runs the plugin with args and stdin in the network namespace
// at netns, or in the checker's own if netns is "".
func (s *suite) runPluginIn(ctx context.Context, netns string, stdin []byte, args ...string) *run {
	return execute(ctx, s.cfg.Timeout, netns, append([]string{s.plugin}, args...), nil, stdin)
}

// pass, fail and skip record the outcome of the case name, decided by r
// (which may be nil).
func (s *suite) pass(name string, r *run) {
	s.report.add(newCase(name, Pass, "", r))
}

func (s *suite) fail(name string, r *run, format string, args ...any) {
	s.report.add(newCase(name, Fail, fmt.Sprintf(format, args...), r))
}

func (s *suite) skip(name string, r *run, format string, args ...any) {
	s.report.add(newCase(name, Skip, fmt.Sprintf(format, args...), r))
}

// result records the case name as passed if err is nil, else as failed with
// err as its reason.
func (s *suite) result(name string, r *run, err error) {
	if err != nil {
		s.fail(name, r, "%v", err)
		return
	}
	s.pass(name, r)
}

func newCase(name string, status Status, reason string, r *run) Case {
	c := Case{Name: name, Status: status, Reason: reason}
	if r != nil {
		sent, got := r.sent, r.got
		sent.Stdin = truncate(sent.Stdin, reportLimit)
		c.Sent, c.Got = &sent, &got
	}
	return c
}
