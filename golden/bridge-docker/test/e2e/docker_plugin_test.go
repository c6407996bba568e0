package e2e

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"

	"example.com/demo/internal/nstest"
	"example.com/demo/internal/testpki"
)

// The Docker front end's other two ways to run: on TCP with mutual TLS,
// announced to the engine by a NAME.json spec file, and as a managed
// plugin that the engine runs itself. Both with the private dockerd of
// TestDocker.

// TestDockerTLS serves the driver on an address that is not loopback,
// with mutual TLS, and has dockerd find it through the spec file and run
// a container on one of its networks. dockerd reads spec files from
// /etc/docker/plugins only: the test's file there has a name of its own
// and is removed at cleanup, as the daemon removes it when it stops.
func TestDockerTLS(t *testing.T) {
	nstest.RequireRoot(t)
	env := startDockerd(t)
	image := importBusybox(t, env)
	ctx := context.Background()

	// The host's address on the link to the outside: not loopback.
	nstest.NewOutside(t, "")
	dir := t.TempDir()
	ca := testpki.NewCA(t, dir, "deploy")
	server := ca.Server(t, "daemon", net.ParseIP(nstest.HostV4))
	engine := ca.Client(t, "engine")
	drv := &driverDaemon{
		bin:      filepath.Join(dir, driver+"-docker"),
		name:     nstest.UniqueName("tls"),
		stateDir: filepath.Join(dir, "state"),
		lockDir:  filepath.Join(dir, "lock"),
		log:      filepath.Join(dir, "driver.log"),
	}
	spec := filepath.Join("/etc/docker/plugins", drv.name+".json")
	drv.args = []string{"--tcp", nstest.HostV4 + ":0", "--tls-cert", server.Cert, "--tls-key", server.Key, "--tls-ca", ca.Cert,
		"--tls-client-cert", engine.Cert, "--tls-client-key", engine.Key}
	drv.ready = func() bool { _, err := os.Stat(spec); return err == nil }
	if err := nstest.Build(drv.bin, "../../cmd/"+driver+"-docker"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(spec) })
	drv.start(t)
	t.Cleanup(func() { drv.stop(t) })

	data, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"Addr": "https://`+nstest.HostV4+":") {
		t.Errorf("spec file %s:\n%s\nwant an https address on %s", spec, data, nstest.HostV4)
	}
	network := nstest.UniqueName("tls-")
	id := env.docker(t, ctx, "network", "create", "-d", drv.name, "--subnet", dockerSubnet, network)
	t.Cleanup(func() { nstest.RemoveLink(t, "br-"+id[:12]) })
	t.Cleanup(func() { env.dockerQuiet(ctx, "network", "rm", network) })
	out := env.docker(t, ctx, "run", "--rm", "--network", network, image, "sh", "-c", "ip -4 -o addr show eth0 && ping -c 1 -W 5 10.79.0.1")
	if !strings.Contains(out, "inet 10.79.0.") || !strings.Contains(out, "1 packets received") {
		t.Errorf("container on %s over TLS: no address or no answer from the gateway:\n%s", network, out)
	}
	env.docker(t, ctx, "network", "rm", network)
	drv.stop(t)
	if _, err := os.Stat(spec); err == nil {
		t.Errorf("spec file %s left after the driver stopped", spec)
	}
}

// pluginConfig is what the test checks of the managed plugin's config.json.
type pluginConfig struct {
	Interface struct {
		Types  []string
		Socket string
	}
	Entrypoint []string
	Network    struct{ Type string }
	Linux      struct{ Capabilities []string }
	Mounts     []struct {
		Name, Source, Destination string
		Settable                  []string
	}
}

// TestDockerManagedPlugin builds the managed plugin with make docker-plugin,
// enables it in the private dockerd, runs a container with a published
// port on a network of it, and checks that disabling and removing it
// leaves nothing on the host.
func TestDockerManagedPlugin(t *testing.T) {
	nstest.RequireRoot(t)
	env := startDockerd(t)
	image := importBusybox(t, env)
	ctx := context.Background()
	dir := t.TempDir()
	plugin := nstest.UniqueName("mp")
	pluginDir := filepath.Join(dir, "plugin")

	make := exec.Command("make", "-C", "../..", "docker-plugin", "PLUGIN="+plugin, "PLUGINDIR="+pluginDir, "DOCKER="+env.cli)
	make.Env = env.command(ctx).Env
	t.Cleanup(func() {
		env.dockerQuiet(ctx, "plugin", "disable", "-f", plugin)
		env.dockerQuiet(ctx, "plugin", "rm", "-f", plugin)
	})
	if out, err := make.CombinedOutput(); err != nil {
		t.Fatalf("make docker-plugin: %v\n%s", err, out)
	}
	t.Run("plugin directory", func(t *testing.T) {
		entries, err := os.ReadDir(filepath.Join(pluginDir, "rootfs"))
		if err != nil || len(entries) != 1 || entries[0].Name() != driver+"-docker" {
			t.Errorf("rootfs holds %v, %v; want the daemon alone", entries, err)
		}
		if err := staticELF(filepath.Join(pluginDir, "rootfs", driver+"-docker")); err != nil {
			t.Error(err)
		}
		data, err := os.ReadFile(filepath.Join(pluginDir, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var c pluginConfig
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.Interface.Types, []string{"docker.networkdriver/1.0"}) || c.Interface.Socket != driver+".sock" ||
			c.Network.Type != "host" || !slices.Equal(c.Linux.Capabilities, []string{"CAP_NET_ADMIN"}) ||
			!slices.Contains(c.Entrypoint, "/run/docker/plugins/"+c.Interface.Socket) {
			t.Errorf("config.json:\n%s", data)
		}
	})

	// The plugin's state and locks in directories of the test.
	var sets []string
	for _, name := range []string{"state", "locks"} {
		path := filepath.Join(dir, name)
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		sets = append(sets, name+".source="+path)
	}
	env.docker(t, ctx, append([]string{"plugin", "set", plugin}, sets...)...)
	env.docker(t, ctx, "plugin", "enable", plugin)

	// The engine names a managed plugin with its tag.
	network := nstest.UniqueName("mp-")
	id := env.docker(t, ctx, "network", "create", "-d", plugin+":latest", "--subnet", dockerSubnet, network)
	bridgeName := "br-" + id[:12]
	t.Cleanup(func() { nstest.RemoveLink(t, bridgeName) })
	t.Cleanup(func() { env.dockerQuiet(ctx, "network", "rm", network) })

	outside := nstest.NewOutside(t, "")
	web := nstest.UniqueName("web-")
	t.Cleanup(func() { env.dockerQuiet(ctx, "rm", "-f", web) })
	env.docker(t, ctx, "run", "-d", "--name", web, "--network", network, "-p", "8080:80", image,
		"sh", "-c", "while true; do echo published | nc -l -p 80; done")
	var got string
	for range 50 { // until the server listens
		if got, _ = nstest.Probe(outside, "tcp", nstest.HostV4+":8080", time.Second); got == "published" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got != "published" {
		t.Errorf("outside to host port 8080: %q, want the container's answer", got)
	}
	env.docker(t, ctx, "rm", "-f", web)
	env.docker(t, ctx, "network", "rm", network)
	env.docker(t, ctx, "plugin", "disable", plugin)
	env.docker(t, ctx, "plugin", "rm", plugin)

	// The plugin's log is dockerd's.
	log, err := os.ReadFile(env.log)
	if err != nil {
		t.Fatal(err)
	}
	made := []string{bridgeName}
	for _, m := range joinedLine.FindAllSubmatch(log, -1) {
		made = append(made, string(m[1]))
	}
	if len(made) != 2 {
		t.Errorf("dockerd's log names %d veths of the plugin, want 1: %v", len(made)-1, made[1:])
	}
	for _, name := range made {
		if nstest.LinkExists(t, name) {
			t.Errorf("%s left on the host", name)
		}
	}
	conn, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ListTableOfFamily(driver, nftables.TableFamilyINet); err == nil {
		t.Errorf("table inet %s left on the host", driver)
	}
}
