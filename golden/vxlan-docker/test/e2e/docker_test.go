package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"example.com/demo/internal/config"
	"example.com/demo/internal/nstest"
)

// The Docker front end in a swarm of two hosts, each with its dockerd, its
// agent and the driver as a managed plugin of its dockerd: the manager
// allocates the network and the containers' addresses in etcd, through the
// driver's IPAM, and each host attaches its containers.

// dockerSubnet is the subnet of the swarm's network.
const dockerSubnet = "10.43.0.0/24"

// TestDockerSwarm creates a network of the driver on the manager, runs a
// server on one host and clients on both, checks that every container's
// address is unique and reserved in etcd, and that removing the
// containers and the network leaves nothing on the hosts or in etcd.
func TestDockerSwarm(t *testing.T) {
	w := newWorld(t, 2)
	for _, h := range w.hosts {
		h.startAgent(t, defaultTTL)
	}
	plugin := buildManagedPlugin(t)
	nodes := startSwarm(t, w.hosts...)
	var image string
	for _, d := range nodes {
		image = d.importBusybox(t)
		pluginConfig(t, d.h)
		d.installPlugin(t, driver, plugin, "config.source="+filepath.Join(d.h.dir, "plugin"), "run.source="+d.h.dir)
	}
	manager := nodes[0]
	drv := driver + ":latest"
	network := nstest.UniqueName("sw-")
	id := manager.docker(t, "network", "create", "-d", drv, "--ipam-driver", drv, "--attachable", "--subnet", dockerSubnet, network)
	t.Cleanup(func() { manager.tryDocker("network", "rm", network) })

	server := manager.docker(t, "run", "-d", "--network", network, image, "httpd", "-f", "-p", "80", "-h", "/etc")
	t.Cleanup(func() { manager.tryDocker("rm", "-f", server) })
	serverIP := containerIP(t, manager, server, network)

	// Clients on both hosts at once: each fetches the server's page
	// across the VXLAN segment (or over its bridge, on the manager),
	// and says its address.
	const perHost = 3
	var (
		mu    sync.Mutex
		addrs = map[string]string{serverIP.String(): "server"}
		wg    sync.WaitGroup
	)
	for _, d := range nodes {
		for i := range perHost {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// busybox nc, as in TestPodman: this busybox's wget
				// crashes. It retries while httpd starts.
				script := fmt.Sprintf(`ip -4 -o addr show eth0 && for i in 1 2 3 4 5 6 7 8 9 10; do printf 'GET /hostname HTTP/1.0\r\n\r\n' | nc -w 2 %s 80 && exit; sleep 0.2; done; exit 1`, serverIP)
				out, err := d.tryDocker("run", "--rm", "--network", network, image, "sh", "-c", script)
				who := fmt.Sprintf("client %d on %s", i, d.h.name)
				if err != nil {
					t.Errorf("%s: %v\n%s", who, err, out)
					return
				}
				if !strings.Contains(out, "200 OK") {
					t.Errorf("%s: no page from the server at %s:\n%s", who, serverIP, out)
				}
				addr, ok := inetAddr(out)
				if !ok {
					t.Errorf("%s: no IPv4 address on eth0:\n%s", who, out)
					return
				}
				if !netip.MustParsePrefix(dockerSubnet).Contains(addr) {
					t.Errorf("%s: address %s is outside %s", who, addr, dockerSubnet)
				}
				mu.Lock()
				defer mu.Unlock()
				if other, ok := addrs[addr.String()]; ok {
					t.Errorf("%s has address %s, as %s has", who, addr, other)
				}
				addrs[addr.String()] = who
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(addrs) != 1+perHost*len(nodes) {
		t.Errorf("%d distinct addresses, want %d: %v", len(addrs), 1+perHost*len(nodes), addrs)
	}

	// The network and the server's address and endpoint are in etcd:
	// the address reserved by the manager, the endpoint on h1.
	if keys := w.keys(t, "networks/"+id); len(keys) != 1 {
		t.Errorf("network %s in etcd: %v, want one key", id, keys)
	}
	if keys := w.keys(t, "addresses/"+id+"/"+serverIP.String()); len(keys) != 1 {
		t.Errorf("the server's address %s is not reserved in etcd: %v", serverIP, keys)
	}
	if keys := w.keys(t, "endpoints/"+id+"/"+manager.h.name+"/"); len(keys) != 1 {
		t.Errorf("endpoints of %s in etcd: %v, want the server's", manager.h.name, keys)
	}

	manager.docker(t, "rm", "-f", server)
	manager.docker(t, "network", "rm", network)
	for _, h := range w.hosts {
		waitClean(t, h)
	}
	w.checkNoEndpoints(t)
	if keys := w.keys(t, "networks/"); len(keys) > 0 {
		t.Errorf("left in etcd: %s", strings.Join(keys, " "))
	}
}

// buildManagedPlugin builds the driver's managed plugin, as make
// docker-plugin-dir does: the static daemon alone in rootfs, and
// config.json. It returns the plugin's directory.
func buildManagedPlugin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := nstest.Build(filepath.Join(dir, "rootfs", driver+"-docker"), "../../cmd/"+driver+"-docker"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../packaging/docker-plugin/config.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pluginConfig writes the configuration of h as the plugin sees it, in
// h.dir/plugin/config.json, which the plugin's config mount brings to
// /etc/demo: its run mount is h.dir, where the agent's socket and the
// lock dir are.
func pluginConfig(t *testing.T, h *host) {
	t.Helper()
	cfg := config.Config{Etcd: config.Etcd{Endpoints: h.w.endpoints}, Host: h.name, VTEP: h.vtep4,
		LockDir:     filepath.Join("/run", driver, filepath.Base(h.lockDir)),
		AgentSocket: filepath.Join("/run", driver, filepath.Base(h.socket()))}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(h.dir, "plugin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// containerIP returns the IPv4 address of container id on network.
func containerIP(t *testing.T, d *dockerNode, id, network string) netip.Addr {
	t.Helper()
	out := d.docker(t, "inspect", "-f", "{{(index .NetworkSettings.Networks \""+network+"\").IPAddress}}", id)
	a, err := netip.ParseAddr(out)
	if err != nil {
		t.Fatalf("address of container %s: %q: %v", id, out, err)
	}
	return a
}

// inetAddr returns the address of the first "inet A/N" of ip -o addr's
// output.
func inetAddr(out string) (netip.Addr, bool) {
	fields := strings.Fields(out)
	i := slices.Index(fields, "inet")
	if i < 0 || i+1 >= len(fields) {
		return netip.Addr{}, false
	}
	p, err := netip.ParsePrefix(fields[i+1])
	return p.Addr(), err == nil
}

// waitClean checks that h is as it was before its containers, once the
// engine has made its last calls: it leaves the endpoints of removed
// containers asynchronously.
func waitClean(t *testing.T, h *host) {
	t.Helper()
	h.checkClean(t)
}
