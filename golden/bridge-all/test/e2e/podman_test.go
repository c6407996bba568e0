package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"example.com/demo/internal/nstest"
)

// TestPodman runs the plugin under a real podman, as its users do: a
// network of the plugin's driver, a container on it publishing a port with
// an HTTP server (busybox httpd), fetched from a namespace outside the host;
// the container's own connection to the outside, which sees the host's
// address; and nothing of the plugin's left once the container and the
// network are removed.
//
// It needs podman ($PODMAN, else podman on PATH), runc ($RUNC, else runc
// on PATH or in /usr/sbin) and a static busybox ($BUSYBOX, else
// /bin/busybox), which becomes the container's root filesystem: no registry
// is needed. Podman runs with its storage, state and network configuration
// in a temporary directory, and the cgroupfs manager; the host's podman
// state is not read or written.
func TestPodman(t *testing.T) {
	nstest.RequireRoot(t)
	p := newPodman(t)
	out := nstest.NewOutside(t, "")
	nstest.Serve(t, out, "tcp", outPort)

	network := nstest.UniqueName("pm-")
	p.run(t, "network", "create", "-d", driver, "--subnet", "10.77.7.0/24", network)
	t.Cleanup(func() { p.runQuiet("network", "rm", "-f", network) })
	ctr := nstest.UniqueName("web-")
	p.run(t, "run", "-d", "--name", ctr, "--network", network, "-p", "18080:80", "--rootfs", p.rootfs,
		"httpd", "-f", "-p", "80", "-h", "/www")
	t.Cleanup(func() { p.runQuiet("rm", "-f", ctr) })

	url := nstest.HostV4 + ":18080"
	var page string
	var err error
	for range 50 { // until httpd listens
		if page, err = httpGet(out, url); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(page, podmanPage) {
		t.Errorf("GET http://%s/ from outside the host: %q, %v; want the container's page", url, page, err)
	}
	if got := strings.TrimSpace(p.run(t, "exec", ctr, "nc", "-w", "5", nstest.OutsideV4, fmt.Sprint(outPort))); got != nstest.HostV4 {
		t.Errorf("the outside saw the container as %q, want the host's address %s", got, nstest.HostV4)
	}

	p.run(t, "rm", "-f", ctr)
	if page, err := httpGet(out, url); err == nil {
		t.Errorf("GET http://%s/ after podman rm: %q, want no answer", url, page)
	}
	p.run(t, "network", "rm", network)
	if bridge := "br-" + network; nstest.LinkExists(t, bridge) {
		t.Errorf("bridge %s left after its last container", bridge)
	}
	checkHostClean(t, "/proc/self/ns/net")
}

// podmanPage is the page the container's httpd serves.
const podmanPage = "hello from a container of demo"

// podman runs a podman of the test's own configuration.
type podman struct {
	bin, rootfs string
	env         []string
}

func newPodman(t *testing.T) *podman {
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
	p := &podman{bin: bin, rootfs: filepath.Join(tmp, "rootfs")}
	if err := busyboxRootfs(p.rootfs, staticBusybox(t)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.rootfs, "www", "index.html"), []byte(podmanPage+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf, storage, state := filepath.Join(tmp, "containers.conf"), filepath.Join(tmp, "storage.conf"), filepath.Join(tmp, "podman")
	files := map[string]string{
		conf: fmt.Sprintf(`[containers]
log_driver = "k8s-file"

[network]
network_backend = "netavark"
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
`, pluginDir, filepath.Join(state, "networks"), filepath.Join(state, "events.log"), filepath.Join(state, "run", "libpod"), runc),
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
	p.env = []string{"CONTAINERS_CONF=" + conf, "CONTAINERS_STORAGE_CONF=" + storage, "PODMAN_IGNORE_CGROUPSV1_WARNING=1"}
	p.run(t, "version")
	return p
}

// run runs podman with args and returns its stdout, failing the test if it
// fails.
func (p *podman) run(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = append(os.Environ(), p.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("podman %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// runQuiet runs podman for a cleanup, whatever comes of it.
func (p *podman) runQuiet(args ...string) {
	cmd := exec.Command(p.bin, args...)
	cmd.Env = append(os.Environ(), p.env...)
	_ = cmd.Run()
}

// httpGet fetches http://addr/ from the network namespace at path and
// returns the response, headers and body.
func httpGet(path, addr string) (string, error) {
	var conn net.Conn
	err := nstest.InNetns(path, func() error {
		var err error
		conn, err = net.DialTimeout("tcp", addr, time.Second)
		return err
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", addr); err != nil {
		return "", err
	}
	b, err := io.ReadAll(conn)
	return string(b), err
}
