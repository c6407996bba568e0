package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"example.com/demo/internal/nstest"
	"example.com/demo/internal/store"
)

// The Docker end-to-end test runs a private dockerd (its own data root,
// exec root and API socket, no docker0) and the driver daemon built from
// cmd/demo-docker under a name of its own, so that neither meets a Docker
// or a driver already on the host; and, like every test of the package, in
// a network namespace of its own, so that dockerd sets IP forwarding and
// its iptables rules there as on a real host: with its FORWARD chain's
// policy at drop, since forwarding was off. Images come from docker import
// of a rootfs holding a static busybox: the test needs no registry.

// dockerSubnet is the network of the test, as in the README.
const dockerSubnet = "10.79.0.0/24"

// dockerTimeout bounds one docker command.
const dockerTimeout = 2 * time.Minute

// dockerEnv is a running private dockerd and what talks to it.
type dockerEnv struct {
	cli  string // the docker client
	host string // its DOCKER_HOST
	log  string // dockerd's log file
}

// driverDaemon is a running driver daemon.
type driverDaemon struct {
	bin, name, socket, stateDir, lockDir, log string
	// args are more flags; ready, if set, tells when the daemon serves
	// instead of its socket answering.
	args  []string
	ready func() bool
	cmd   *exec.Cmd
}

func TestDocker(t *testing.T) {
	nstest.RequireRoot(t)
	env := startDockerd(t)
	image := importBusybox(t, env)
	drv := startDriver(t)
	ctx := context.Background()

	network := nstest.UniqueName("net-")
	id := env.docker(t, ctx, "network", "create", "-d", drv.name, "--subnet", dockerSubnet, network)
	bridgeName := "br-" + id[:12]
	t.Cleanup(func() { nstest.RemoveLink(t, bridgeName) })
	t.Cleanup(func() { env.dockerQuiet(ctx, "network", "rm", network) })

	t.Run("address and gateway", func(t *testing.T) {
		out := env.docker(t, ctx, "run", "--rm", "--network", network, image,
			"sh", "-c", "ip -4 -o addr show eth0 && ip -4 route && ping -c 1 -W 5 10.79.0.1")
		if !strings.Contains(out, "inet 10.79.0.") || !strings.Contains(out, "default via 10.79.0.1 dev eth0") ||
			!strings.Contains(out, "1 packets received") {
			t.Errorf("container on %s: no address in %s, default route or answer from the gateway:\n%s", network, dockerSubnet, out)
		}
	})

	// Two long-running containers, pinned to addresses.
	a, b := nstest.UniqueName("a-"), nstest.UniqueName("b-")
	t.Cleanup(func() { env.dockerQuiet(ctx, "rm", "-f", a, b) })
	for name, ip := range map[string]string{a: "10.79.0.10", b: "10.79.0.11"} {
		env.docker(t, ctx, "run", "-d", "--name", name, "--network", network, "--ip", ip, image, "sleep", "600")
	}
	t.Run("two containers", func(t *testing.T) {
		env.docker(t, ctx, "exec", a, "ping", "-c", "1", "-W", "5", "10.79.0.11")
		env.docker(t, ctx, "exec", b, "ping", "-c", "1", "-W", "5", "10.79.0.10")
		if !nstest.LinkExists(t, bridgeName) {
			t.Errorf("no bridge %s while containers run", bridgeName)
		}
	})

	t.Run("driver restart", func(t *testing.T) {
		drv.restart(t)
		// Still connected, a new container joins, and the old ones leave:
		// all of it known only from the state the daemon kept.
		env.docker(t, ctx, "exec", a, "ping", "-c", "1", "-W", "5", "10.79.0.11")
		env.docker(t, ctx, "run", "--rm", "--network", network, image, "ping", "-c", "1", "-W", "5", "10.79.0.10")
		drv.restart(t)
		env.docker(t, ctx, "rm", "-f", a, b)
		if nstest.LinkExists(t, bridgeName) {
			t.Errorf("bridge %s left after its last container", bridgeName)
		}
	})

	t.Run("published port and outbound NAT", func(t *testing.T) {
		// dockerd turned forwarding on itself, so it set its FORWARD
		// chain to drop: the driver's accepts in DOCKER-USER let the
		// network's traffic through.
		if out, err := exec.Command("iptables", "-S", "FORWARD").CombinedOutput(); err != nil || !strings.Contains(string(out), "-P FORWARD DROP") {
			t.Errorf("iptables -S FORWARD: %v\n%s\nwant Docker's drop policy", err, out)
		}
		outside := nstest.NewOutside(t, "")
		nstest.Serve(t, outside, "tcp", 5000)
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
		out := env.docker(t, ctx, "exec", web, "sh", "-c", "nc -w 5 "+nstest.OutsideV4+" 5000")
		if strings.TrimSpace(out) != nstest.HostV4 {
			t.Errorf("the outside saw the container as %q, want the host's address %s", out, nstest.HostV4)
		}
		env.docker(t, ctx, "rm", "-f", web)
		if got, err := nstest.Probe(outside, "tcp", nstest.HostV4+":8080", 300*time.Millisecond); err == nil {
			t.Errorf("host port 8080 still answers %q after the container left", got)
		}
	})

	t.Run("options", func(t *testing.T) {
		out, err := env.run(ctx, "network", "create", "-d", drv.name, "--subnet", "10.78.0.0/24", "-o", "mtu=12", nstest.UniqueName("bad-"))
		if err == nil || !strings.Contains(out, `invalid mtu "12"`) {
			t.Errorf("network with mtu=12: %v, %s; want the driver's refusal", err, out)
		}
		mtu := nstest.UniqueName("mtu-")
		id := env.docker(t, ctx, "network", "create", "-d", drv.name, "--subnet", "10.78.0.0/24", "-o", "mtu=1400", mtu)
		t.Cleanup(func() { nstest.RemoveLink(t, "br-"+id[:12]) })
		out = env.docker(t, ctx, "run", "--rm", "--network", mtu, image, "cat", "/sys/class/net/eth0/mtu")
		if strings.TrimSpace(out) != "1400" {
			t.Errorf("eth0 has MTU %s on a network with mtu=1400", out)
		}
		env.docker(t, ctx, "network", "rm", mtu)
		if nstest.LinkExists(t, "br-"+id[:12]) {
			t.Errorf("bridge of network %s left after docker network rm", mtu)
		}
	})

	t.Run("network rm", func(t *testing.T) {
		env.docker(t, ctx, "network", "rm", network)
		// Other packages' tests make links at the same time, so rather
		// than compare the host's links before and after, look for those
		// that this driver made: the bridge, and each veth its log says it
		// joined. Deleting a veth's host end deletes its peer too.
		made := drv.joinedVeths(t)
		if len(made) < 5 {
			t.Errorf("driver log names %d veths, want one per container run (5): %v", len(made), made)
		}
		for _, name := range append(made, bridgeName) {
			if nstest.LinkExists(t, name) {
				t.Errorf("%s left on the host", name)
			}
		}
		st, err := store.Open(drv.stateDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"networks", "endpoints"} {
			if ids, err := st.List(kind); err != nil || len(ids) > 0 {
				t.Errorf("%s left in the driver's state: %v %v", kind, ids, err)
			}
		}
	})
}

// startDockerd starts a private dockerd and stops it at cleanup.
func startDockerd(t *testing.T) *dockerEnv {
	t.Helper()
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
	// A short directory: the unix socket paths under it must fit in 108
	// bytes.
	dir, err := os.MkdirTemp("", "dkr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("remove dockerd's directory: %v", err)
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := &dockerEnv{cli: cli, host: "unix://" + filepath.Join(dir, "docker.sock"), log: filepath.Join(dir, "dockerd.log")}
	logFile, err := os.Create(env.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	// As on a host where nothing forwarded before Docker came: dockerd
	// turns forwarding on and its FORWARD chain's policy to drop. The
	// test's own namespace is the host here (nstest.Main).
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("0"), 0o644); err != nil {
		t.Fatalf("turn forwarding off before dockerd starts: %v", err)
	}
	cmd := exec.Command(dockerd,
		"--config-file", filepath.Join(dir, "daemon.json"), // not the host's /etc/docker/daemon.json
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"-H", env.host,
		// No docker0: the only networks are the driver's.
		"--bridge=none",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dockerd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			<-exited
			t.Errorf("dockerd did not stop within a minute of SIGTERM")
		}
		if t.Failed() {
			env.showLog(t)
		}
	})

	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", strings.TrimPrefix(env.host, "unix://"))
		},
	}}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := client.Get("http://docker/_ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return env
			}
		}
		select {
		case err := <-exited:
			env.showLog(t)
			t.Fatalf("dockerd exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			env.showLog(t)
			t.Fatal("dockerd not ready after a minute")
		}
	}
}

func (e *dockerEnv) showLog(t *testing.T) {
	data, _ := os.ReadFile(e.log)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	t.Logf("dockerd log, last lines:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
}

// command returns the docker client command args for the private dockerd.
// The client's configuration is the test's too: none of the user's
// contexts or credentials.
func (e *dockerEnv) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.cli, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+e.host, "DOCKER_CONFIG="+filepath.Dir(e.log))
	return cmd
}

// run runs the docker client and returns its combined output.
func (e *dockerEnv) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, dockerTimeout)
	defer cancel()
	out, err := e.command(ctx, args...).CombinedOutput()
	return string(out), err
}

// docker runs the docker client and fails the test if it fails; it returns
// the output, trimmed.
func (e *dockerEnv) docker(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := e.run(ctx, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// dockerQuiet runs a cleanup command whose failure does not matter.
func (e *dockerEnv) dockerQuiet(ctx context.Context, args ...string) {
	e.run(ctx, args...)
}

// importBusybox imports a rootfs of a static busybox as an image and
// returns its name.
func importBusybox(t *testing.T, env *dockerEnv) string {
	t.Helper()
	data, err := os.ReadFile(staticBusybox(t))
	if err != nil {
		t.Fatal(err)
	}
	var rootfs bytes.Buffer
	tw := tar.NewWriter(&rootfs)
	tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))})
	tw.Write(data)
	for _, applet := range []string{"sh", "ip", "ping", "sleep", "cat"} {
		tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	image := "busybox-e2e:" + nstest.UniqueName("t")
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	cmd := env.command(ctx, "import", "--change", "ENV PATH=/bin", "-", image)
	cmd.Stdin = &rootfs
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	return image
}

// startDriver builds cmd/demo-docker and starts it under a unique
// driver name; it is stopped at cleanup.
func startDriver(t *testing.T) *driverDaemon {
	t.Helper()
	dir := t.TempDir()
	d := &driverDaemon{
		bin:      filepath.Join(dir, driver+"-docker"),
		name:     nstest.UniqueName("e2e"),
		stateDir: filepath.Join(dir, "state"),
		lockDir:  filepath.Join(dir, "lock"),
		log:      filepath.Join(dir, "driver.log"),
	}
	d.socket = filepath.Join("/run/docker/plugins", d.name+".sock")
	if err := nstest.Build(d.bin, "../../cmd/"+driver+"-docker"); err != nil {
		t.Fatal(err)
	}
	d.start(t)
	t.Cleanup(func() {
		d.stop(t)
		os.Remove(d.socket)
		if t.Failed() {
			data, _ := os.ReadFile(d.log)
			t.Logf("driver log:\n%s", data)
		}
	})
	return d
}

func (d *driverDaemon) start(t *testing.T) {
	t.Helper()
	logFile, err := os.OpenFile(d.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	d.cmd = exec.Command(d.bin, append([]string{"--name", d.name, "--state-dir", d.stateDir, "--lock-dir", d.lockDir, "--debug"}, d.args...)...)
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := d.ready
	if ready == nil {
		ready = func() bool {
			c, err := net.Dial("unix", d.socket)
			if err == nil {
				c.Close()
			}
			return err == nil
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ready() {
			return
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(d.log)
			t.Fatalf("driver %s not serving after 10s:\n%s", d.name, data)
		}
	}
}

// stop sends SIGTERM and checks a clean exit that removed the socket.
func (d *driverDaemon) stop(t *testing.T) {
	t.Helper()
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	err := d.cmd.Wait()
	d.cmd = nil
	if err != nil {
		t.Errorf("driver exit after SIGTERM: %v", err)
	}
	if _, err := os.Lstat(d.socket); d.socket != "" && !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("driver left its socket %s: %v", d.socket, err)
	}
}

func (d *driverDaemon) restart(t *testing.T) {
	t.Helper()
	d.stop(t)
	d.start(t)
}

// joinedVeths returns the host ends of the veths that the driver's log
// says it made.
func (d *driverDaemon) joinedVeths(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(d.log)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range joinedLine.FindAllSubmatch(data, -1) {
		names = append(names, string(m[1]))
	}
	return names
}

// joinedLine is the driver's log line for a Join.
var joinedLine = regexp.MustCompile(`msg=joined .* veth=(\S+)`)
