package netavark

import (
	"log/slog"
	"os"

	"example.com/demo/internal/driver"
	"example.com/demo/internal/protocol"
)

// Plugin is the Handler of the plugin: it translates netavark's calls
// into calls of this host's agent (package agentapi), which keeps the
// cluster's state in etcd, and the driver's, on the network's VXLAN
// segment (package overlay); calls.go has them.
type Plugin struct {
	version string
	// Driver attaches and detaches the containers.
	Driver *driver.Driver
	log    *slog.Logger
}

// NewPlugin returns a Plugin over the plugin's driver that reports version
// and logs to stderr as driver.LogEnv says.
func NewPlugin(version string) *Plugin {
	return &Plugin{
		version: version,
		Driver:  driver.New(driver.DefaultLockDir),
		log:     driver.NewLogger(os.Stderr, os.Getenv(driver.LogEnv)),
	}
}

// Info describes the plugin.
func (p *Plugin) Info() protocol.Info {
	return protocol.Info{
		Version:    p.version,
		APIVersion: protocol.APIVersion,
		Extra:      map[string]string{"description": driver.Name + ": containers of many hosts on one VXLAN network, its state in etcd"},
	}
}
