// Package config is this host's configuration of demo: where the cluster's
// etcd is, and the name and VXLAN tunnel endpoint (VTEP) of this host. The
// plugin, which netavark runs for each container, reads it from a file; the
// agent reads the same file, and its flags override what the file says.
// The plugin does not reach etcd: it calls the agent, on the agent's unix
// socket (AgentSocket).
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"

	"example.com/demo/internal/agentapi"
	"example.com/demo/internal/driver"
)

// DefaultPath is where the plugin and the agent read the configuration,
// unless PathEnv names another file.
const DefaultPath = "/etc/demo/config.json"

// PathEnv is the environment variable that names another configuration
// file (one per host, for a test that runs several hosts on one machine).
const PathEnv = "DEMO_CONFIG"

// Config is one host's configuration.
type Config struct {
	// Etcd is where the cluster's state is.
	Etcd Etcd `json:"etcd"`
	// Host is this host's name in the cluster, unique among its hosts; the
	// empty name is the machine's host name.
	Host string `json:"host,omitempty"`
	// VTEP is this host's address on the underlay network, from which
	// the other hosts receive its containers' packets. It must be an
	// address of this host.
	VTEP netip.Addr `json:"vtep"`
	// Device is the underlay interface that holds VTEP; empty finds it.
	Device string `json:"device,omitempty"`
	// LockDir holds the lock files of the bridges, which the plugin and
	// the agent share; empty is driver.DefaultLockDir. Hosts that share a
	// file system, as the tests' hosts do, need one each.
	LockDir string `json:"lock_dir,omitempty"`
	// AgentSocket is the unix socket where the agent serves the plugin's
	// calls; empty is agentapi.DefaultSocket. Hosts that share a file
	// system, as the tests' hosts do, need one each.
	AgentSocket string `json:"agent_socket,omitempty"`
}

// Etcd says how to reach etcd.
type Etcd struct {
	// Endpoints are etcd's client URLs (https://10.0.0.1:2379).
	Endpoints []string `json:"endpoints"`
	// CACert, Cert and Key are the PEM files of the CA that signs etcd's
	// certificate and of this host's client certificate, for an etcd that
	// serves TLS; all empty for plain HTTP.
	CACert string `json:"cacert,omitempty"`
	Cert   string `json:"cert,omitempty"`
	Key    string `json:"key,omitempty"`
}

// Path returns the configuration file to read: PathEnv's, else DefaultPath.
func Path() string {
	if p := os.Getenv(PathEnv); p != "" {
		return p
	}
	return DefaultPath
}

// Example is a configuration file to start from, for error messages and
// the README.
const Example = `{"etcd": {"endpoints": ["http://192.0.2.1:2379"]}, "vtep": "192.0.2.11"}`

// ErrNoConfig is returned by Load when the file does not exist.
var ErrNoConfig = errors.New("no configuration")

// Load reads the configuration at path. A missing file is an error that
// says what to write there: the plugin needs etcd, and never falls back to
// state that only this host could see.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, fmt.Errorf("%w at %s: demo keeps its networks in etcd and needs to know where it is and this host's VTEP address; write %s, for example %s (see the README to start an etcd)",
			ErrNoConfig, path, path, Example)
	}
	if err != nil {
		return Config{}, err
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("read %s: %w", path, err)
	}
	return c, nil
}

// Complete fills in the host name, the lock dir and the agent's socket,
// and checks c for the agent: etcd endpoints and a VTEP are required.
func (c *Config) Complete() error {
	if len(c.Etcd.Endpoints) == 0 {
		return fmt.Errorf("no etcd endpoints: demo keeps its networks in etcd; give them (--etcd-endpoints, or \"etcd\": {\"endpoints\": [...]} in %s)", Path())
	}
	if (c.Etcd.Cert == "") != (c.Etcd.Key == "") {
		return errors.New("etcd client certificate and key go together: give both or neither")
	}
	if err := c.CompleteLocal(); err != nil {
		return err
	}
	if c.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("host name: %w", err)
		}
		c.Host = h
	}
	return nil
}

// CompleteLocal fills in the lock dir and the agent's socket, and checks
// c for the plugin, which needs this host's VTEP but not etcd, which it
// reaches through the agent.
func (c *Config) CompleteLocal() error {
	if !c.VTEP.IsValid() {
		return fmt.Errorf("no VTEP address: give this host's underlay address (--vtep, or \"vtep\" in %s)", Path())
	}
	if c.LockDir == "" {
		c.LockDir = driver.DefaultLockDir
	}
	if c.AgentSocket == "" {
		c.AgentSocket = agentapi.DefaultSocket
	}
	return nil
}
