// Package cnitool runs the CNI plugin the way CNI runtimes do: under
// cnitool, the command line runtime of containernetworking/cni (libcni, with
// its result cache), in real network namespaces, chained with the reference
// host-local IPAM plugin. cnitool and the reference plugins are built from
// the Go module proxy at the versions pinned below; a test that needs one
// skips, saying why, if it cannot be built (or fails with TEST_NO_SKIP=1).
package cnitool

import (
	"bytes"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"example.com/demo/internal/nstest"
)

// pluginType is the plugin's file name, the "type" of its configurations;
// driver is the plugin's name, which its nftables table has, and logEnv
// turns its log on.
const (
	pluginType = "demo-cni"
	driver     = "demo"
	logEnv     = "DEMO_LOG"
)

// The reference tools, pinned: cnitool from the module of the CNI library
// that the plugin uses, host-local and bridge from the reference plugins.
const (
	cnitoolPkg   = "github.com/containernetworking/cni/cnitool@v1.3.1"
	hostLocalPkg = "github.com/containernetworking/plugins/plugins/ipam/host-local@v1.9.1"
	bridgePkg    = "github.com/containernetworking/plugins/plugins/main/bridge@v1.9.1"
)

// buildFlags are those of the Makefile, for the plugin and the tools alike.
var buildFlags = []string{"-trimpath", "-ldflags=-s -w"}

// pluginDir holds the plugin, built by TestMain.
var pluginDir string

func TestMain(m *testing.M) {
	os.Exit(nstest.Main(func() int { return runTests(m) }, cnitoolPkg, hostLocalPkg, bridgePkg))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", pluginType+"-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	pluginDir = filepath.Join(dir, "plugin")
	if err := nstest.Build(filepath.Join(pluginDir, pluginType), "../../cmd/"+pluginType, buildFlags...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// tool returns the path of the command pkg@version, built outside this
// module, so that its own go.mod decides its dependencies.
func tool(t testing.TB, pkg string) string {
	t.Helper()
	return nstest.Tool(t, pkg)
}

// network is one CNI network configuration list, with one plugin: this one.
type network struct {
	name, confDir string
	// bridge and dataDir are the plugin's, unique to the test.
	bridge, dataDir string
	cniVersion      string
	// plugin is the plugin's configuration object.
	plugin map[string]any
}

// newNetwork writes a configuration list of cniVersion for the plugin with
// the keys of plugin, plus a bridge and a data directory of the test's own.
// An ipam section gets a dataDir of the test's own too.
func newNetwork(t testing.TB, cniVersion string, plugin map[string]any) *network {
	t.Helper()
	n := &network{
		name:       nstest.UniqueName("cnitest-"),
		confDir:    t.TempDir(),
		bridge:     nstest.UniqueName("cnt"),
		dataDir:    t.TempDir(),
		cniVersion: cniVersion,
		plugin:     map[string]any{"type": pluginType},
	}
	for k, v := range plugin {
		n.plugin[k] = v
	}
	n.plugin["bridge"] = n.bridge
	n.plugin["dataDir"] = n.dataDir
	if ipam, ok := n.plugin["ipam"].(map[string]any); ok {
		ipam["dataDir"] = t.TempDir()
	}
	list := map[string]any{"cniVersion": cniVersion, "name": n.name, "plugins": []any{n.plugin}}
	data, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.confDir, n.name+".conflist"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nstest.RemoveLink(t, n.bridge) })
	return n
}

// run is what one command printed and returned.
type run struct {
	stdout, stderr string
	code           int
}

func (r run) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// cnitool runs `cnitool CMD NETWORK NETNS` with the plugin and the
// reference plugins in CNI_PATH, and env (CNI_ARGS, CAP_ARGS, CNI_IFNAME)
// added to the environment.
func (n *network) cnitool(t testing.TB, cmd, netnsPath string, env ...string) run {
	t.Helper()
	c := exec.Command(tool(t, cnitoolPkg), cmd, n.name, netnsPath)
	c.Env = append(cleanEnv(), "NETCONFPATH="+n.confDir, "CNI_PATH="+cniPath(t))
	c.Env = append(c.Env, env...)
	return execute(t, c, nil)
}

// exec runs the network's plugin itself (this one, or a reference plugin of
// toolDir) with CNI_COMMAND cmd and the environment variables in env, and
// the network's configuration with the keys of extra on stdin.
func (n *network) exec(t testing.TB, cmd string, extra map[string]any, env ...string) run {
	t.Helper()
	c, stdin := n.command(t, cmd, extra, env...)
	return execute(t, c, stdin)
}

// command returns the command of exec, and its stdin, to run.
func (n *network) command(t testing.TB, cmd string, extra map[string]any, env ...string) (*exec.Cmd, []byte) {
	t.Helper()
	conf := map[string]any{"cniVersion": n.cniVersion, "name": n.name}
	for k, v := range n.plugin {
		conf[k] = v
	}
	for k, v := range extra {
		conf[k] = v
	}
	stdin, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(pluginDir, pluginType)
	if typ := n.plugin["type"]; typ != pluginType {
		bin = filepath.Join(toolDir(t), typ.(string))
	}
	return pluginCommand(t, bin, cmd, env...), stdin
}

// execPlugin runs a CNI plugin binary as a runtime does.
func execPlugin(t testing.TB, bin, cmd string, stdin []byte, env ...string) run {
	t.Helper()
	return execute(t, pluginCommand(t, bin, cmd, env...), stdin)
}

// pluginCommand returns the command that runs a CNI plugin binary as a
// runtime does.
func pluginCommand(t testing.TB, bin, cmd string, env ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(bin)
	c.Env = append(cleanEnv(), "CNI_COMMAND="+cmd, "CNI_PATH="+cniPath(t))
	c.Env = append(c.Env, env...)
	return c
}

func execute(t testing.TB, c *exec.Cmd, stdin []byte) run {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c.Stdin, c.Stdout, c.Stderr = bytes.NewReader(stdin), &stdout, &stderr
	err := c.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run %s: %v", c.Path, err)
	}
	return run{stdout: stdout.String(), stderr: stderr.String(), code: c.ProcessState.ExitCode()}
}

// cleanEnv is the test's environment without CNI variables, so that the
// caller's cannot leak into a test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CNI_") && !strings.HasPrefix(kv, "CAP_ARGS=") && !strings.HasPrefix(kv, "NETCONFPATH=") {
			env = append(env, kv)
		}
	}
	return env
}

func cniPath(t testing.TB) string {
	return pluginDir + string(filepath.ListSeparator) + toolDir(t)
}

// toolDir is the directory of the reference tools, where the plugin finds
// host-local.
func toolDir(t testing.TB) string {
	t.Helper()
	return filepath.Dir(tool(t, hostLocalPkg))
}

// containerID is the container ID cnitool uses for a netns.
func containerID(netnsPath string) string {
	sum := sha512.Sum512([]byte(netnsPath))
	return fmt.Sprintf("cnitool-%x", sum[:10])
}

// result is an ADD result of any supported version: 0.3.x and 0.4.0 add
// "version" to each IP, which is ignored here.
type result struct {
	CNIVersion string `json:"cniVersion"`
	Interfaces []struct {
		Name    string `json:"name"`
		Mac     string `json:"mac"`
		Sandbox string `json:"sandbox"`
	} `json:"interfaces"`
	IPs []struct {
		Address   netip.Prefix `json:"address"`
		Gateway   netip.Addr   `json:"gateway"`
		Interface *int         `json:"interface"`
	} `json:"ips"`
	Routes []struct {
		Dst netip.Prefix `json:"dst"`
		GW  netip.Addr   `json:"gw"`
	} `json:"routes"`
}

// add runs cnitool add and returns the result it printed.
func (n *network) add(t testing.TB, netnsPath string, env ...string) result {
	t.Helper()
	r := n.cnitool(t, "add", netnsPath, env...)
	if r.code != 0 {
		t.Fatalf("cnitool add: %s", r)
	}
	var res result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("cnitool add printed %q: %v", r.stdout, err)
	}
	if res.CNIVersion != n.cniVersion {
		t.Errorf("result has cniVersion %q, want the configuration's %q", res.CNIVersion, n.cniVersion)
	}
	if len(res.Interfaces) != 3 || res.Interfaces[2].Sandbox != netnsPath {
		t.Fatalf("result interfaces = %+v, want bridge, host end and container interface in %s", res.Interfaces, netnsPath)
	}
	return res
}

// addresses returns the result's addresses.
func (r result) addresses() []netip.Prefix {
	var out []netip.Prefix
	for _, ip := range r.IPs {
		out = append(out, ip.Address)
	}
	return out
}

// hostIfName returns the host end of the veth pair, from the result.
func (r result) hostIfName() string {
	return r.Interfaces[1].Name
}

// records returns the names of the network's attachment records.
func (n *network) records(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(n.dataDir, n.name, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	return names
}

// record decodes the record of an attachment.
func (n *network) record(t testing.TB, hostIfName string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(n.dataDir, n.name, hostIfName+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// netnsState is what a container netns holds on its eth0: the addresses
// (link-local ones left out) and the default routes' gateways.
type netnsState struct {
	exists    bool
	addresses []netip.Prefix
	gateways  []netip.Addr
}

func inNetns(t testing.TB, path, ifName string) netnsState {
	t.Helper()
	h := nstest.Handle(t, path)
	link, err := h.LinkByName(ifName)
	if err != nil {
		return netnsState{}
	}
	st := netnsState{exists: true}
	addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() {
			continue
		}
		ip, _ := netip.AddrFromSlice(a.IP)
		bits, _ := a.Mask.Size()
		st.addresses = append(st.addresses, netip.PrefixFrom(ip.Unmap(), bits))
	}
	routes, err := h.RouteList(link, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if ones, _ := dstMask(r); ones == 0 && r.Gw != nil {
			gw, _ := netip.AddrFromSlice(r.Gw)
			st.gateways = append(st.gateways, gw.Unmap())
		}
	}
	return st
}

// dstMask returns the prefix length of a route's destination; a default
// route may come with no destination at all.
func dstMask(r netlink.Route) (int, int) {
	if r.Dst == nil {
		return 0, 0
	}
	return r.Dst.Mask.Size()
}
