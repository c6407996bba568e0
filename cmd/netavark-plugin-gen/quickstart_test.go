package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/internal/testenv"
)

// TestQuickstart runs the README's quickstart, the commands of the sh block
// under "## Quickstart", in order and as written, in a temporary directory,
// so that the README cannot drift from what works. The test only knows the
// shapes of command the block holds today; a line of any other shape fails
// it, to be taught here. Its substitutions, and nothing else:
//
//   - netavark-plugin-gen is this repository's CLI, built by the test;
//   - "sudo " is dropped, and make install gets DESTDIR=TMP/dest: writing to
//     the host's /usr/libexec/netavark would replace (and at cleanup remove)
//     a plugin of the same name that the user installed, and two runs at
//     once would share it. Podman's netavark_plugin_dirs points at
//     TMP/dest/usr/libexec/netavark instead;
//   - podman is $PODMAN, else podman on PATH (.ci/fetch-podman.sh fetches
//     one), run with CONTAINERS_CONF and CONTAINERS_STORAGE_CONF naming
//     files in TMP: storage, run, lock, event and network-config
//     directories in TMP, the OCI runtime runc ($RUNC, else runc on PATH or in
//     /usr/sbin) with the cgroupfs manager, which work on cgroup v1, v2 and
//     hybrid hosts alike. The user's podman state is not read or written;
//     netavark's IPAM database in /run/containers/networks is shared by every
//     rootful podman by design;
//   - the image (alpine: no registry is reachable from CI) becomes
//     --rootfs TMP/rootfs, a root filesystem of a static busybox ($BUSYBOX,
//     else /bin/busybox) and its applets.
//
// The commands up to make install run without root; the podman commands
// need root, podman, runc and busybox, and skip without them, or fail with
// TEST_NO_SKIP=1. Besides each command's success, the test checks that new
// prints the rest of the quickstart as its next steps, that the plugin is
// installed where the README says, that the network is created with the
// plugin's driver and a bridge name, that the container's eth0 has an
// address in the network's subnet, that no veth or bridge is left on the
// host after the container, and that the network can be removed and the
// plugin uninstalled.
func TestQuickstart(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := quickstartLines(readme, quickstartHeading)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	q := newQuickstart(t)
	for i, l := range lines {
		q.step(l, lines[i+1:])
	}
	q.finish()
}

// TestQuickstartLines checks that the README's quickstart is read as
// written, and that a block of another shape is refused rather than run
// differently.
func TestQuickstartLines(t *testing.T) {
	tests := []struct {
		name    string
		readme  string
		want    []string
		comment string // of the last line
		wantErr string
	}{
		{"block", "# x\n\n## Quickstart\n\nSome prose.\n\n```sh\nfoo new a --b c\n\ncd a   # there\n```\n\n## Next\n",
			[]string{"foo new a --b c", "cd a"}, "there", ""},
		{"no heading", "# x\n```sh\nls\n```\n", nil, "", "no ## Quickstart heading"},
		{"no block", "## Quickstart\ntext\n## Next\n```sh\nls\n```\n", nil, "", "no code block"},
		{"not sh", "## Quickstart\n```console\n$ ls\n```\n", nil, "", "want a sh block"},
		{"not closed", "## Quickstart\n```sh\nls\n", nil, "", "not closed"},
		{"empty", "## Quickstart\n```sh\n```\n", nil, "", "empty"},
		{"env", "## Quickstart\n```sh\nsudo make install PREFIX=$HOME\n```\n", nil, "", "shell syntax"},
		{"pipe", "## Quickstart\n```sh\npodman ps | grep x\n```\n", nil, "", "shell syntax"},
		{"quotes", "## Quickstart\n```sh\npodman run alpine sh -c 'ip a'\n```\n", nil, "", "shell syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := quickstartLines([]byte(tt.readme), quickstartHeading)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range lines {
				got = append(got, l.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if c := lines[len(lines)-1].Comment; c != tt.comment {
				t.Errorf("comment %q, want %q", c, tt.comment)
			}
		})
	}
}

// TestGeneratedQuickstart checks that a generated project's README starts
// its podman section with the same commands as this README's quickstart,
// which new prints as its next steps.
func TestGeneratedQuickstart(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "golden", "bridge", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := quickstartLines(readme, "## Use it with podman")
	if err != nil {
		t.Fatalf("golden/bridge/README.md: %v", err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, l.String())
	}
	// The golden project is new demo, run in its parent directory.
	if want := nextCommands("demo", "demo")[1:]; !slices.Equal(got, want) {
		t.Errorf("golden/bridge/README.md, podman section:\n got %q\nwant %q (new's next steps, after cd)", got, want)
	}
}

// quickstartLine is one command of the README's quickstart.
type quickstartLine struct {
	// Args are the command's words; the block uses no quoting or other
	// shell syntax.
	Args []string
	// Comment is the text after "#", which states what the command makes.
	Comment string
}

func (l quickstartLine) String() string { return strings.Join(l.Args, " ") }

// quickstartHeading is the heading of this README's quickstart.
const quickstartHeading = "## Quickstart"

// quickstartLines returns the commands of the first code block under the
// README's heading. It refuses shell syntax beyond words and comments, so a
// line the test would run differently from a shell is an error, not a
// silent difference.
func quickstartLines(readme []byte, heading string) ([]quickstartLine, error) {
	sc := bufio.NewScanner(bytes.NewReader(readme))
	state := "heading"
	var lines []quickstartLine
	for sc.Scan() {
		text := sc.Text()
		switch state {
		case "heading":
			if text == heading {
				state = "fence"
			}
		case "fence":
			switch {
			case strings.HasPrefix(text, "## "):
				return nil, errors.New("no code block under " + heading)
			case text == "```sh" || text == "```":
				state = "block"
			case strings.HasPrefix(text, "```"):
				return nil, fmt.Errorf("quickstart block is %q, want a sh block", text)
			}
		case "block":
			if strings.HasPrefix(text, "```") {
				if len(lines) == 0 {
					return nil, errors.New("empty quickstart block")
				}
				return lines, nil
			}
			cmd, comment, _ := strings.Cut(text, "#")
			if strings.ContainsAny(cmd, "'\"`$\\|&;<>(){}*?[]~") {
				return nil, fmt.Errorf("quickstart line %q: shell syntax that TestQuickstart does not run", text)
			}
			if f := strings.Fields(cmd); len(f) > 0 {
				lines = append(lines, quickstartLine{Args: f, Comment: strings.TrimSpace(comment)})
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if state == "heading" {
		return nil, errors.New("no " + heading + " heading")
	}
	return nil, errors.New("quickstart block not found or not closed")
}

// quickstart is the state of one run: the temporary directories and what
// the commands so far have made.
type quickstart struct {
	t    *testing.T
	tmp  string
	dir  string // the working directory, moved by cd
	bin  string // this repository's CLI
	dest string // DESTDIR of make install
	env  []string

	podman    string // "" until the first podman command
	rootfs    string
	project   string // the directory of the generated project
	installed string // the installed plugin
	network   string
	bridge    string // the network's network_interface
	subnet    netip.Prefix
	veths     []int // host ifindexes of the containers' veth peers
}

func newQuickstart(t *testing.T) *quickstart {
	for _, tool := range []string{"go", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.SkipOrFail(t, "the quickstart needs "+tool+": "+err.Error())
		}
	}
	tmp := t.TempDir()
	q := &quickstart{t: t, tmp: tmp, dir: filepath.Join(tmp, "work"), dest: filepath.Join(tmp, "dest")}
	bindir := filepath.Join(tmp, "bin")
	for _, d := range []string{q.dir, bindir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	q.bin = filepath.Join(bindir, "netavark-plugin-gen")
	q.run(".", "go", "build", "-o", q.bin, ".")
	// The user's podman configuration (CONTAINERS_CONF_OVERRIDE and the
	// like) stays out; the test's own is added by needPodman.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONTAINERS_") {
			q.env = append(q.env, kv)
		}
	}
	q.env = append(q.env, "PATH="+bindir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return q
}

// step runs one quickstart line; rest are the lines after it.
func (q *quickstart) step(l quickstartLine, rest []quickstartLine) {
	t := q.t
	args := l.Args
	if args[0] == "sudo" && len(args) > 1 {
		args = args[1:]
	}
	switch {
	case args[0] == "netavark-plugin-gen" && len(args) > 2 && args[1] == "new":
		out := q.run(q.dir, q.bin, args[1:]...)
		q.project = filepath.Join(q.dir, args[2])
		if err := checkNext(out, rest); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	case args[0] == "cd" && len(args) == 2:
		q.dir = filepath.Join(q.dir, args[1])
		if fi, err := os.Stat(q.dir); err != nil || !fi.IsDir() {
			t.Fatalf("%s: no directory %s", l, q.dir)
		}
	case args[0] == "make" && slices.Contains(args, "install"):
		q.run(q.dir, "make", append(args[1:], "DESTDIR="+q.dest)...)
		q.installed = q.installedPlugin(l)
	case args[0] == "make":
		q.run(q.dir, "make", args[1:]...)
	case len(args) > 2 && args[0] == "podman" && args[1] == "network" && args[2] == "create":
		q.needPodman()
		q.networkCreate(l, args[3:])
	case len(args) > 1 && args[0] == "podman" && args[1] == "run":
		q.needPodman()
		q.podmanRun(l, args[2:])
	default:
		t.Fatalf("README quickstart line %q: TestQuickstart does not know how to run it; teach it in quickstart_test.go", l)
	}
}

// checkNext checks that out, the output of new, ends with the rest of the
// quickstart as its next steps.
func checkNext(out string, rest []quickstartLine) error {
	_, next, ok := strings.Cut(out, "\nnext:\n")
	if !ok {
		return fmt.Errorf("output has no next steps:\n%s", out)
	}
	var got, want []string
	for _, l := range strings.Split(strings.TrimSpace(next), "\n") {
		got = append(got, strings.Join(strings.Fields(l), " "))
	}
	for _, l := range rest {
		want = append(want, l.String())
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("next steps differ from the README's quickstart:\n got %q\nwant %q", got, want)
	}
	return nil
}

// installedPlugin returns the plugin that make install put under DESTDIR:
// the path in the line's comment if it names one, else netavark's plugin
// directory and the project's name.
func (q *quickstart) installedPlugin(l quickstartLine) string {
	path := filepath.Join("/usr/libexec/netavark", filepath.Base(q.project))
	if f := strings.Fields(l.Comment); len(f) > 0 && strings.HasPrefix(f[0], "/") {
		path = f[0]
	}
	path = filepath.Join(q.dest, path)
	if fi, err := os.Stat(path); err != nil || fi.Mode()&0o111 == 0 {
		q.t.Fatalf("%s: no executable %s: %v", l, path, err)
	}
	return path
}

// needPodman prepares the podman commands once: it finds what they need,
// builds the root filesystem and writes podman's configuration.
func (q *quickstart) needPodman() {
	t := q.t
	if q.podman != "" {
		return
	}
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "the quickstart's podman commands need root: the plugin makes bridges and veth pairs")
	}
	if q.installed == "" {
		t.Fatal("the quickstart runs podman before make install")
	}
	podman := os.Getenv("PODMAN")
	if podman == "" {
		p, err := exec.LookPath("podman")
		if err != nil {
			testenv.SkipOrFail(t, "no podman: set PODMAN or run .ci/fetch-podman.sh, which prints one")
		}
		podman = p
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
		testenv.SkipOrFail(t, "no runc: set RUNC or install runc")
	}
	busybox := os.Getenv("BUSYBOX")
	if busybox == "" {
		busybox = "/bin/busybox"
	}
	if err := staticELF(busybox); err != nil {
		testenv.SkipOrFail(t, fmt.Sprintf("no static busybox for the container (set BUSYBOX or install busybox-static): %v", err))
	}
	q.rootfs = filepath.Join(q.tmp, "rootfs")
	if err := buildRootfs(q.rootfs, busybox); err != nil {
		t.Fatal(err)
	}

	conf := filepath.Join(q.tmp, "containers.conf")
	storageConf := filepath.Join(q.tmp, "storage.conf")
	state := filepath.Join(q.tmp, "podman")
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
`, filepath.Dir(q.installed), filepath.Join(state, "networks"), filepath.Join(state, "events.log"),
			filepath.Join(state, "run", "libpod"), runc),
		storageConf: fmt.Sprintf(`[storage]
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
	q.env = append(q.env, "CONTAINERS_CONF="+conf, "CONTAINERS_STORAGE_CONF="+storageConf,
		"PODMAN_IGNORE_CGROUPSV1_WARNING=1")
	q.podman = podman
	q.run(q.dir, q.podman, "version")

	// The README's names (the network, and so the plugin's bridge) are the
	// same for every run on the host: take turns with other runs of this
	// test, and leave a bridge of the user's alone.
	lock, err := os.OpenFile("/run/netavark-plugin-gen-quickstart.lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("lock %s: %v", lock.Name(), err)
	}
}

// networkCreate runs podman network create with args, and checks the
// network it made.
func (q *quickstart) networkCreate(l quickstartLine, args []string) {
	t := q.t
	var driver string
	for i := 0; i < len(args)-1; i++ {
		switch args[i] {
		case "-d", "--driver":
			driver = args[i+1]
		case "--subnet":
			p, err := netip.ParsePrefix(args[i+1])
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			q.subnet = p
		}
	}
	if driver == "" || !q.subnet.IsValid() || len(args) == 0 || strings.HasPrefix(args[len(args)-1], "-") {
		t.Fatalf("%s: TestQuickstart expects -d DRIVER, --subnet and the network name last", l)
	}
	name := args[len(args)-1]
	out := q.run(q.dir, q.podman, append([]string{"network", "create"}, args...)...)
	q.network = name
	t.Cleanup(func() {
		if q.network != "" {
			q.runErr(q.dir, q.podman, "network", "rm", "-f", q.network)
		}
	})
	if got := strings.TrimSpace(out); got != name {
		t.Errorf("%s printed %q, want %q", l, got, name)
	}

	var nets []struct {
		Driver           string `json:"driver"`
		NetworkInterface string `json:"network_interface"`
		Subnets          []struct {
			Subnet string `json:"subnet"`
		} `json:"subnets"`
	}
	out = q.run(q.dir, q.podman, "network", "inspect", name)
	if err := json.Unmarshal([]byte(out), &nets); err != nil || len(nets) != 1 {
		t.Fatalf("podman network inspect %s: want one network, got %v:\n%s", name, err, out)
	}
	n := nets[0]
	if n.Driver != driver {
		t.Errorf("network %s has driver %q, want %q", name, n.Driver, driver)
	}
	if len(n.Subnets) != 1 || n.Subnets[0].Subnet != q.subnet.String() {
		t.Errorf("network %s has subnets %+v, want %s", name, n.Subnets, q.subnet)
	}
	if n.NetworkInterface == "" {
		t.Fatalf("network %s has no network_interface: the plugin's create names its bridge", name)
	}
	q.bridge = n.NetworkInterface
	if _, err := net.InterfaceByName(q.bridge); err == nil {
		testenv.SkipOrFail(t, fmt.Sprintf("the host already has a link %s, the bridge of a %s network of its own: the quickstart would join it", q.bridge, name))
	}
}

// ipAddrEth0 matches the first line of `ip addr show eth0`, with the host
// index of a veth's peer.
var ipAddrEth0 = regexp.MustCompile(`(?m)^\d+: eth0@if(\d+):`)

// podmanRun runs podman run with args, the image replaced by the busybox
// root filesystem, and checks that the container had an address on the
// network and that nothing of it is left on the host.
func (q *quickstart) podmanRun(l quickstartLine, args []string) {
	t := q.t
	if q.network == "" {
		t.Fatalf("%s: the quickstart runs a container before it creates a network", l)
	}
	var podmanArgs []string
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		switch args[i] {
		case "--rm":
			podmanArgs = append(podmanArgs, args[i])
		case "--network", "--net":
			if i+1 == len(args) {
				t.Fatalf("%s: %s without a value", l, args[i])
			}
			podmanArgs = append(podmanArgs, args[i], args[i+1])
			i++
		default:
			t.Fatalf("%s: TestQuickstart does not know the flag %s; teach it in quickstart_test.go", l, args[i])
		}
	}
	if i == len(args) {
		t.Fatalf("%s: no image", l)
	}
	t.Logf("image %s replaced by --rootfs %s", args[i], q.rootfs)
	podmanArgs = append(append(podmanArgs, "--rootfs", q.rootfs), args[i+1:]...)
	out := q.run(q.dir, q.podman, append([]string{"run"}, podmanArgs...)...)

	m := ipAddrEth0.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s: no eth0 with a veth peer in the output:\n%s", l, out)
	}
	veth, _ := strconv.Atoi(m[1])
	q.veths = append(q.veths, veth)
	var addrs []netip.Prefix
	for _, f := range regexp.MustCompile(`(?m)^\s+inet (\S+)`).FindAllStringSubmatch(out, -1) {
		if p, err := netip.ParsePrefix(f[1]); err == nil {
			addrs = append(addrs, p)
		}
	}
	if !slices.ContainsFunc(addrs, func(p netip.Prefix) bool { return p.Bits() == q.subnet.Bits() && q.subnet.Contains(p.Addr()) }) {
		t.Errorf("%s: eth0 has addresses %v, none in %s:\n%s", l, addrs, q.subnet, out)
	}
	if i, err := net.InterfaceByIndex(veth); err == nil {
		t.Errorf("after %s the host still has the container's veth peer %s (index %d)", l, i.Name, veth)
	}
	if _, err := net.InterfaceByName(q.bridge); err == nil {
		t.Errorf("after %s the host still has the bridge %s, which its last container left", l, q.bridge)
	}
}

// finish undoes the quickstart as a user would, checking each step: the
// network is removed, then the plugin.
func (q *quickstart) finish() {
	t := q.t
	if q.network != "" {
		out := q.run(q.dir, q.podman, "network", "rm", q.network)
		if got := strings.TrimSpace(out); got != q.network {
			t.Errorf("podman network rm %s printed %q", q.network, got)
		}
		if _, err := q.runErr(q.dir, q.podman, "network", "inspect", q.network); err == nil {
			t.Errorf("network %s still there after podman network rm", q.network)
		}
		q.network = ""
	}
	if q.installed != "" {
		q.run(q.dir, "make", "uninstall", "DESTDIR="+q.dest)
		if _, err := os.Stat(q.installed); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("make uninstall left %s: %v", q.installed, err)
		}
	}
}

// run runs name with args in dir and returns its standard output; it fails
// the test if the command fails.
func (q *quickstart) run(dir, name string, args ...string) string {
	q.t.Helper()
	out, err := q.runErr(dir, name, args...)
	if err != nil {
		q.t.Fatal(err)
	}
	return out
}

// runErr runs name with args in dir, logs the command and its output, and
// returns its standard output.
func (q *quickstart) runErr(dir, name string, args ...string) (string, error) {
	q.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = q.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	line := strings.Join(append([]string{filepath.Base(name)}, args...), " ")
	q.t.Logf("$ %s\n%s%s", line, stdout.String(), stderr.String())
	if err != nil {
		return stdout.String(), fmt.Errorf("%s: %w\n%s", line, err, stderr.String())
	}
	return stdout.String(), nil
}

// staticELF returns an error unless path is an executable that needs no
// dynamic loader: the container's root filesystem holds nothing else.
func staticELF(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// buildRootfs makes a root filesystem in dir: busybox in /bin with a link
// for each of its applets, and the directories a container mounts over.
func buildRootfs(dir, busybox string) error {
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	src, err := os.Open(busybox)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(bin, "busybox"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("copy %s: %w", busybox, err)
	}
	if err := dst.Close(); err != nil {
		return err
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("list the applets of %s: %w", busybox, err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(bin, applet)); err != nil {
			return fmt.Errorf("link applet: %w", err)
		}
	}
	return nil
}
