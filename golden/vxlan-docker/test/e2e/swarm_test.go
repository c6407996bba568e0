package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/demo/internal/nstest"
	"example.com/demo/internal/overlay"
)

// The swarm harness runs a private dockerd on each host of a world, in the
// host's network namespace, and makes them a Docker swarm: the first host
// is its manager, the others workers, all on the underlay. Each dockerd has
// its own data root, exec root and API socket in a short directory under
// /tmp, no docker0 and no iptables rules; and a mount namespace of its own,
// with private tmpfs on /run/docker and /run/containerd, so that it starts
// a containerd of its own even on a machine whose containerd runs (dockerd
// uses /run/containerd/containerd.sock when it is there), the two daemons
// share no plugin sockets, and every mount it makes (root filesystems,
// sandboxes' namespace files) goes with it when it stops. A container's
// network namespace is therefore to be entered through its process:
// dockerNode.containerNetns. Each dockerd also has a UTS namespace named
// after its host, so that the swarm's nodes are h1, h2...: a service's
// task is pinned to a host with --constraint node.hostname==h2.
//
// Images come from docker import of a static busybox, on each node: a
// service uses them with --no-resolve-image, since the hosts reach no
// registry. Network drivers come as managed plugins (installPlugin), the
// only kind that a swarm's networks can use (and the only kind that these
// daemons find: their /run/docker/plugins is their own).
//
// startSwarm removes the swarm's ingress network, and the docker_gwbridge
// that its sandbox needed on every node: each host's namespace is then as
// it was before its dockerd (host.baseline), so that host.checkClean sees
// only what the plugin left.

// dockerTimeout bounds one docker command.
const dockerTimeout = 2 * time.Minute

// dockerStopTimeout is how long a dockerd has to stop after SIGTERM before
// it gets SIGKILL.
const dockerStopTimeout = 20 * time.Second

// swarmPort is the port of the swarm's managers on the underlay.
const swarmPort = 2377

// swarmDataPathPort is the UDP port of the VXLAN of the swarm's own
// overlay networks, such as its ingress network, whose device dockerd
// makes on every node as it joins, bound in the host's namespace: not
// VXLAN's, which the plugin's devices use there.
const swarmDataPathPort = overlay.DefaultPort + 1

// busyboxImage is the name of the image that importBusybox makes, the same
// on every node so that a service can use it.
const busyboxImage = driver + "-busybox:e2e"

// dockerNode is a private dockerd running on a host of the world.
type dockerNode struct {
	h *host
	// dir holds the daemon's files: its configuration, data and exec
	// roots, log, and the API socket sock.
	dir, sock string
	// cli is the docker client, log dockerd's log file.
	cli, log string
	// nodeID is the node's ID in the swarm, once startSwarm made it one.
	nodeID string
	cmd    *exec.Cmd
	// exited is closed when dockerd has exited.
	exited chan struct{}
	// mntns names dockerd's mount namespace (readlink of
	// /proc/PID/ns/mnt), where containerd and its shims run too.
	mntns string
	// teardown is run in reverse order at cleanup, after the swarm is
	// left and before dockerd stops: installPlugin's removals.
	teardown []func()
}

// startDockerd starts a private dockerd in h's network namespace and waits
// until it answers. At cleanup it runs the node's teardown, stops dockerd
// (SIGTERM, SIGKILL after dockerStopTimeout), kills whatever of it is left
// (containerd, shims) and removes its directory; if the test failed it
// logs the tail of dockerd's log. Without dockerd, a docker client, or
// unshare and hostname to give dockerd its namespaces, the test skips or
// fails.
func startDockerd(t *testing.T, h *host) *dockerNode {
	t.Helper()
	nstest.RequireRoot(t)
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		nstest.SkipOrFail(t, "no dockerd: install Docker (Debian: apt-get install docker.io)")
	}
	cli := os.Getenv("DOCKER")
	if cli == "" {
		// The client packaged with this dockerd, else any on PATH.
		cli = filepath.Join(filepath.Dir(dockerd), "docker")
		if _, err := os.Stat(cli); err != nil {
			if cli, err = exec.LookPath("docker"); err != nil {
				nstest.SkipOrFail(t, "no docker client beside dockerd nor on PATH; set DOCKER")
			}
		}
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		nstest.SkipOrFail(t, "no unshare (util-linux): dockerd runs in mount and UTS namespaces of its own")
	}
	if _, err := exec.LookPath("hostname"); err != nil {
		nstest.SkipOrFail(t, "no hostname (Debian: apt-get install hostname): dockerd's host names the swarm's node")
	}
	// The mount points of dockerd's private /run/docker and
	// /run/containerd, which a Docker on the machine would make too.
	for _, d := range []string{"/run/docker", "/run/containerd"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A short directory: the unix socket paths under it must fit in 108
	// bytes.
	dir, err := os.MkdirTemp("", "dkr-")
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerNode{h: h, dir: dir, sock: filepath.Join(dir, "docker.sock"), cli: cli, log: filepath.Join(dir, "dockerd.log"),
		exited: make(chan struct{})}
	// Registered first, this runs last: after dockerd has stopped.
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove the directory of the dockerd of %s: %v", h.name, err)
		}
	})
	// Not the machine's /etc/docker/daemon.json, nor its key.json, which
	// dockerd would write and which would give both daemons one ID.
	daemonJSON := fmt.Sprintf("{\"deprecated-key-path\": %q}\n", filepath.Join(dir, "key.json"))
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte(daemonJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	args := []string{
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"-H", "unix://" + d.sock,
		// No docker0 and no firewall rules: the only networks are the
		// swarm's and the plugin's.
		"--bridge=none", "--iptables=false", "--ip6tables=false",
	}
	// nsenter, unshare and sh each exec the next: the process is dockerd.
	script := `hostname "$0" && mount -t tmpfs -o mode=0755 tmpfs /run/docker && mount -t tmpfs -o mode=0755 tmpfs /run/containerd && exec "$@"`
	argv := append([]string{"--net=" + h.ns, "--", unshare, "--mount", "--uts", "--propagation", "slave", "--",
		"sh", "-c", script, h.name, dockerd}, args...)
	d.cmd = exec.Command(h.w.nsenter, argv...)
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start the dockerd of %s: %v", h.name, err)
	}
	go func() {
		d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() { d.cleanup(t) })

	start := time.Now()
	for {
		_, err := d.tryDocker("version")
		if err == nil {
			break
		}
		select {
		case <-d.exited:
			d.showLog(t)
			t.Fatalf("the dockerd of %s exited: %v", h.name, d.cmd.ProcessState)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Since(start) > time.Minute {
			d.showLog(t)
			t.Fatalf("the dockerd of %s does not answer after a minute: %v", h.name, err)
		}
	}
	d.mntns, err = os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", d.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("the mount namespace of the dockerd of %s: %v", h.name, err)
	}
	return d
}

// cleanup removes the node's containers, runs its teardown, stops dockerd
// and kills what is left of it. Containers removed first stop at once:
// dockerd would give each 10s to stop on SIGTERM.
func (d *dockerNode) cleanup(t *testing.T) {
	if ids, err := d.tryDocker("ps", "--all", "--quiet"); err == nil && ids != "" {
		if _, err := d.tryDocker(append([]string{"rm", "--force"}, strings.Fields(ids)...)...); err != nil {
			t.Logf("remove the containers of %s: %v", d.h.name, err)
		}
	}
	for i := len(d.teardown) - 1; i >= 0; i-- {
		d.teardown[i]()
	}
	d.stop(t)
	d.killLeftovers(t)
	if t.Failed() {
		d.showLog(t)
	}
}

// stop stops dockerd with SIGTERM, or SIGKILL after dockerStopTimeout, and
// waits for it.
func (d *dockerNode) stop(t *testing.T) {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(dockerStopTimeout):
		_ = d.cmd.Process.Kill()
		<-d.exited
		t.Errorf("the dockerd of %s did not stop within %s of SIGTERM", d.h.name, dockerStopTimeout)
	}
}

// killLeftovers kills, with SIGKILL, what is left of dockerd once it has
// exited: the processes in its mount namespace (its containerd, the
// shims) and their descendants (containers, plugins), if it did not stop
// them; and fails the test if there were any.
func (d *dockerNode) killLeftovers(t *testing.T) {
	if d.mntns == "" {
		return
	}
	left := d.leftovers()
	if len(left) == 0 {
		return
	}
	var names []string
	for _, pid := range left {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		names = append(names, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(bytes.TrimRight(cmdline, "\x00"), []byte{0}, []byte{' '})))
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	t.Errorf("left running after the dockerd of %s stopped, killed:\n%s", d.h.name, strings.Join(names, "\n"))
	if !waitFor(5*time.Second, func() bool { return len(d.leftovers()) == 0 }) {
		t.Errorf("processes of the dockerd of %s still there 5s after SIGKILL: %v", d.h.name, d.leftovers())
	}
}

// leftovers lists the live processes in dockerd's mount namespace and
// their descendants. Zombies, which their new parent reaps, do not count.
func (d *dockerNode) leftovers() []int {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		i := bytes.LastIndexByte(stat, ')')
		if err != nil || i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		parent[pid], _ = strconv.Atoi(f[1])
		pids = append(pids, pid)
	}
	ours := map[int]bool{}
	for _, pid := range pids {
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && ns == d.mntns {
			ours[pid] = true
		}
	}
	// Descendants, to a fixed point: a process may come before its parent.
	for grew := true; grew; {
		grew = false
		for _, pid := range pids {
			if !ours[pid] && ours[parent[pid]] {
				ours[pid], grew = true, true
			}
		}
	}
	var left []int
	for _, pid := range pids {
		if ours[pid] {
			left = append(left, pid)
		}
	}
	return left
}

// showLog logs the last lines of dockerd's log.
func (d *dockerNode) showLog(t *testing.T) {
	data, _ := os.ReadFile(d.log)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	t.Logf("log of the dockerd of %s, last lines:\n%s", d.h.name, strings.Join(lines[max(0, len(lines)-60):], "\n"))
}

// command returns the docker client with args for the node's dockerd. The
// client's configuration is the node's too: none of the user's contexts or
// credentials.
func (d *dockerNode) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.cli, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.sock, "DOCKER_CONFIG="+d.dir)
	return cmd
}

// run runs the docker client with args and stdin, if not nil, within
// dockerTimeout, and returns its output, trimmed; the error has the
// command and all its output.
func (d *dockerNode) run(stdin io.Reader, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	cmd := d.command(ctx, args...)
	cmd.Stdin = stdin
	var stdout bytes.Buffer
	all := &logBuffer{}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, all), all
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("docker %s on %s: %v\n%s", strings.Join(args, " "), d.h.name, err, all)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// tryDocker runs the docker client with args and returns its output,
// trimmed; the error has the command and all its output. It needs no
// testing.T: goroutines and cleanups may call it.
func (d *dockerNode) tryDocker(args ...string) (string, error) {
	return d.run(nil, args...)
}

// docker runs the docker client with args and returns its output, trimmed;
// it fails the test if the command fails.
func (d *dockerNode) docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := d.tryDocker(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// containerNetns returns a path of the network namespace of the running
// container name: its process's, since the sandbox's file under dockerd's
// exec root is a mount in dockerd's mount namespace, not the test's.
func (d *dockerNode) containerNetns(t *testing.T, name string) string {
	t.Helper()
	pid := d.docker(t, "inspect", "--format", "{{.State.Pid}}", name)
	if pid == "" || pid == "0" {
		t.Fatalf("container %s on %s is not running", name, d.h.name)
	}
	return "/proc/" + pid + "/ns/net"
}

// startSwarm starts a dockerd on each host and makes them a swarm: the
// first host initializes it and is its manager, the others join it as
// workers, each advertising its underlay address; it waits until every
// node is Ready, and returns the nodes in the order of hosts. At cleanup
// each node leaves the swarm (workers first, with --force), before its
// plugins are removed and its dockerd stops.
func startSwarm(t *testing.T, hosts ...*host) []*dockerNode {
	t.Helper()
	if len(hosts) == 0 {
		t.Fatal("startSwarm: no host")
	}
	nodes := make([]*dockerNode, len(hosts))
	for i, h := range hosts {
		nodes[i] = startDockerd(t, h)
	}
	var joined []*dockerNode
	t.Cleanup(func() {
		for i := len(joined) - 1; i >= 0; i-- {
			if _, err := joined[i].tryDocker("swarm", "leave", "--force"); err != nil {
				t.Errorf("leave the swarm: %v", err)
			}
		}
	})
	mgr := nodes[0]
	addr := mgr.h.vtep4.String()
	mgr.docker(t, "swarm", "init", "--advertise-addr", addr, "--listen-addr", addr+":"+strconv.Itoa(swarmPort),
		"--data-path-port", strconv.Itoa(swarmDataPathPort))
	joined = append(joined, mgr)
	token := mgr.docker(t, "swarm", "join-token", "-q", "worker")
	for _, n := range nodes[1:] {
		a := n.h.vtep4.String()
		n.docker(t, "swarm", "join", "--advertise-addr", a, "--listen-addr", a+":"+strconv.Itoa(swarmPort),
			"--token", token, addr+":"+strconv.Itoa(swarmPort))
		joined = append(joined, n)
	}
	for _, n := range nodes {
		n.nodeID = n.docker(t, "info", "--format", "{{.Swarm.NodeID}}")
		if n.nodeID == "" {
			t.Fatalf("%s has no node ID after joining the swarm", n.h.name)
		}
	}
	var list string
	ready := func() bool {
		var err error
		if list, err = mgr.tryDocker("node", "ls", "--format", "{{.ID}} {{.Hostname}} {{.Status}}"); err != nil {
			return false
		}
		for _, n := range nodes {
			if !strings.Contains(list, n.nodeID+" "+n.h.name+" Ready") {
				return false
			}
		}
		return true
	}
	if !waitFor(time.Minute, ready) {
		t.Fatalf("the swarm's nodes are not all Ready after a minute:\n%s", list)
	}
	// The swarm's routing mesh, its ingress network, cannot work without
	// dockerd's iptables rules; and it leaves a sandbox on every node,
	// behind a bridge, docker_gwbridge, in the host's namespace. Both go,
	// so that the hosts are as they were before their dockerd, and
	// host.checkClean sees what the plugin leaves. docker network rm asks
	// before it removes ingress.
	if _, err := mgr.run(strings.NewReader("y\n"), "network", "rm", "ingress"); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		var nets []string
		var err error
		gone := func() bool {
			var out string
			if out, err = n.tryDocker("network", "ls", "--format", "{{.Name}}"); err != nil {
				return false
			}
			if nets = strings.Fields(out); slices.Contains(nets, "ingress") {
				return false
			}
			// Its sandbox has left docker_gwbridge once the network is
			// gone.
			if slices.Contains(nets, "docker_gwbridge") {
				_, err = n.tryDocker("network", "rm", "docker_gwbridge")
				return err == nil
			}
			return true
		}
		if !waitFor(30*time.Second, gone) {
			t.Fatalf("%s still has networks %v 30s after ingress was removed: %v", n.h.name, nets, err)
		}
	}
	for _, n := range nodes {
		h := n.h
		if got := nstest.Settle(t, h.baseline, func() string { return h.state(t) }); got != h.baseline {
			t.Fatalf("%s is not as it was before its dockerd:\n%s", h.name, nstest.Diff(h.baseline, got))
		}
	}
	return nodes
}

// importBusybox imports a root filesystem of a static busybox and all its
// applets, with an empty /tmp and /www, as the image busyboxImage, whose
// name it returns.
func (d *dockerNode) importBusybox(t *testing.T) string {
	t.Helper()
	bin := staticBusybox(t)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command(bin, "--list").Output()
	if err != nil {
		t.Fatalf("list the applets of %s: %v", bin, err)
	}
	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	headers := []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
		{Name: "www/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))},
	}
	for _, h := range headers {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.Write(data); err != nil {
		t.Fatal(err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.run(&rootfs, "import", "--change", "ENV PATH=/bin", "-", busyboxImage); err != nil {
		t.Fatal(err)
	}
	return busyboxImage
}

// installPlugin makes the managed plugin name:latest from dir (its
// config.json and rootfs), sets settings (such as "mnt.source=/path") if
// any, and enables it. At cleanup, after the swarm is left and before
// dockerd stops, it disables and removes it, with --force.
func (d *dockerNode) installPlugin(t *testing.T, name, dir string, settings ...string) {
	t.Helper()
	ref := name + ":latest"
	for _, f := range []string{"config.json", "rootfs"} {
		if _, err := os.Stat(filepath.Join(dir, f)); errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("plugin %s: no %s in %s", name, f, dir)
		}
	}
	d.docker(t, "plugin", "create", ref, dir)
	d.teardown = append(d.teardown, func() {
		// Disabling fails for a plugin that was never enabled.
		_, _ = d.tryDocker("plugin", "disable", "--force", ref)
		if _, err := d.tryDocker("plugin", "rm", "--force", ref); err != nil {
			t.Errorf("remove plugin %s: %v", ref, err)
		}
	})
	if len(settings) > 0 {
		d.docker(t, append([]string{"plugin", "set", ref}, settings...)...)
	}
	d.docker(t, "plugin", "enable", ref)
}
