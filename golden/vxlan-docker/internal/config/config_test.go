package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"example.com/demo/internal/agentapi"
	"example.com/demo/internal/driver"
)

// TestLoad reads configuration files: a missing one says what to write, an
// unknown field is refused, and Complete fills in and checks.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	if _, err := Load(missing); !errors.Is(err, ErrNoConfig) || !strings.Contains(err.Error(), "write "+missing) {
		t.Errorf("Load of a missing file: %v", err)
	}

	write := func(doc string) string {
		t.Helper()
		path := filepath.Join(dir, "config.json")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if _, err := Load(write(`{"etcd": {"endpoints": ["http://192.0.2.1:2379"]}, "vtep": "192.0.2.11", "colour": "red"}`)); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("Load with an unknown field: %v", err)
	}
	c, err := Load(write(Example))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Complete(); err != nil {
		t.Fatal(err)
	}
	if c.Host == "" || c.LockDir != driver.DefaultLockDir || c.VTEP.String() != "192.0.2.11" || c.Etcd.Endpoints[0] != "http://192.0.2.1:2379" ||
		c.AgentSocket != agentapi.DefaultSocket {
		t.Errorf("completed example: %+v", c)
	}

	for doc, want := range map[string]string{
		`{"vtep": "192.0.2.11"}`:                             "no etcd endpoints",
		`{"etcd": {"endpoints": ["http://192.0.2.1:2379"]}}`: "no VTEP address",
		`{"etcd": {"endpoints": ["http://192.0.2.1:2379"], "cert": "c.pem"}, "vtep": "192.0.2.11"}`: "go together",
	} {
		c, err := Load(write(doc))
		if err == nil {
			err = c.Complete()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", doc, err, want)
		}
	}

	// The plugin needs no etcd: it calls the agent.
	c = Config{VTEP: c.VTEP}
	if err := c.CompleteLocal(); err != nil || c.AgentSocket != agentapi.DefaultSocket || c.LockDir != driver.DefaultLockDir {
		t.Errorf("CompleteLocal: %v, %+v", err, c)
	}
}
