package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/demo/internal/nstest"
)

// TestPodman runs the plugin under a real podman on two hosts, as its
// users do: a network of the plugin's driver created on host 1, its
// network file copied to host 2 as an operator would, an HTTP server
// (busybox httpd) in a container on host 1, fetched by a container on
// host 2 with busybox nc. Once the containers are removed, nothing of
// the plugin's is left on the hosts or in etcd.
//
// It needs podman ($PODMAN, else podman on PATH), runc ($RUNC, else runc
// on PATH or in /usr/sbin) and a static busybox ($BUSYBOX, else busybox
// on PATH), which becomes the containers' root filesystem: no registry is
// needed. Each host's podman runs in the host's namespace with its
// storage, state and network configuration in a temporary directory of its
// own, and the cgroupfs manager; the machine's podman state is not read or
// written.
func TestPodman(t *testing.T) {
	w := newWorld(t, 2)
	var pods []*podman
	for _, h := range w.hosts {
		h.startAgent(t, defaultTTL)
		pods = append(pods, newPodman(t, h))
	}
	p1, p2 := pods[0], pods[1]

	network := nstest.UniqueName("pm-")
	p1.run(t, "network", "create", "-d", driver, "--subnet", "10.43.0.0/24", network)
	file := network + ".json"
	data, err := os.ReadFile(filepath.Join(p1.networks, file))
	if err != nil {
		t.Fatalf("podman network create wrote no %s: %v", file, err)
	}
	if err := os.WriteFile(filepath.Join(p2.networks, file), data, 0o644); err != nil {
		t.Fatal(err)
	}

	web := nstest.UniqueName("web-")
	p1.run(t, "run", "-d", "--name", web, "--network", network, "--rootfs", p1.rootfs, "httpd", "-f", "-p", "80", "-h", "/www")
	t.Cleanup(func() { p1.runQuiet("rm", "-f", "-t", "0", web) })
	ip := strings.TrimSpace(p1.run(t, "inspect", "-f", fmt.Sprintf("{{(index .NetworkSettings.Networks %q).IPAddress}}", network), web))
	if !strings.HasPrefix(ip, "10.43.0.") {
		t.Fatalf("the container on %s has address %q on %s, want one of 10.43.0.0/24", p1.host.name, ip, network)
	}
	// The client, busybox nc (this busybox's wget, static with glibc,
	// crashes), retries while httpd starts.
	page := p2.run(t, "run", "--rm", "--network", network, "--rootfs", p2.rootfs, "sh", "-c",
		fmt.Sprintf(`for i in 1 2 3 4 5 6 7 8 9 10; do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 %s 80 && exit; sleep 0.2; done; exit 1`, ip))
	if !strings.Contains(page, podmanPage) {
		t.Errorf("GET http://%s/ from a container on %s: %q, want the page of the container on %s", ip, p2.host.name, page, p1.host.name)
	}

	p1.run(t, "rm", "-f", "-t", "0", web)
	for _, p := range pods {
		p.run(t, "network", "rm", network)
		p.host.checkClean(t)
	}
	w.checkNoEndpoints(t)
}

// podmanPage is the page the container's httpd serves.
const podmanPage = "hello from a container of demo"

// podman runs a podman of the test's own configuration on a host.
type podman struct {
	host                  *host
	bin, rootfs, networks string
	env                   []string
}

// newPodman configures a podman for host h, with a busybox root
// filesystem for its containers.
func newPodman(t *testing.T, h *host) *podman {
	t.Helper()
	bin := os.Getenv("PODMAN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("podman"); err != nil {
			nstest.SkipOrFail(t, "no podman: set PODMAN or install podman")
		}
	}
	runc := os.Getenv("RUNC")
	if runc == "" {
		runc, _ = exec.LookPath("runc")
	}
	if runc == "" {
		if _, err := os.Stat("/usr/sbin/runc"); err == nil {
			runc = "/usr/sbin/runc"
		}
	}
	if runc == "" {
		nstest.SkipOrFail(t, "no runc: set RUNC or install runc")
	}
	tmp := t.TempDir()
	state := filepath.Join(tmp, "podman")
	p := &podman{host: h, bin: bin, rootfs: filepath.Join(tmp, "rootfs"), networks: filepath.Join(state, "networks")}
	if err := busyboxRootfs(p.rootfs, staticBusybox(t)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.rootfs, "www", "index.html"), []byte(podmanPage+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(p.networks, 0o755); err != nil {
		t.Fatal(err)
	}
	conf, storage := filepath.Join(tmp, "containers.conf"), filepath.Join(tmp, "storage.conf")
	files := map[string]string{
		conf: fmt.Sprintf(`[containers]
log_driver = "k8s-file"

[network]
network_backend = "netavark"
firewall_driver = "none"
netavark_plugin_dirs = [%q]
network_config_dir = %q

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %q
lock_type = "file"
tmp_dir = %q

[engine.runtimes]
runc = [%q]
`, pluginDir, p.networks, filepath.Join(state, "events.log"), filepath.Join(state, "run", "libpod"), runc),
		storage: fmt.Sprintf(`[storage]
driver = "vfs"
graphroot = %q
runroot = %q
`, filepath.Join(state, "storage"), filepath.Join(state, "run")),
	}
	for name, text := range files {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.env = []string{"CONTAINERS_CONF_OVERRIDE=" + conf, "CONTAINERS_STORAGE_CONF=" + storage,
		"PODMAN_IGNORE_CGROUPSV1_WARNING=1", "DEMO_CONFIG=" + h.config, "DBUS_SYSTEM_BUS_ADDRESS="}
	p.run(t, "version")
	return p
}

// command returns podman with args, in the host's namespace.
func (p *podman) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.host.w.nsenter, append([]string{"--net=" + p.host.ns, p.bin}, args...)...)
	cmd.Env = append(os.Environ(), p.env...)
	return cmd
}

// run runs podman with args and returns its stdout, failing the test if it
// fails.
func (p *podman) run(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := p.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("podman %s on %s: %v\n%s%s", strings.Join(args, " "), p.host.name, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// runQuiet runs podman for a cleanup, whatever comes of it.
func (p *podman) runQuiet(args ...string) {
	_ = p.command(context.Background(), args...).Run()
}
