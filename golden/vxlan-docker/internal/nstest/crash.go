package nstest

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// HostNetns is the path of the network namespace that Main gave the test
// process, which plays the host, as seen from any goroutine not inside Do
// or InNetns. It names the calling thread's namespace: that of the process
// (/proc/self) is its main thread's, which NewNetns may have left in a
// container's.
const HostNetns = "/proc/thread-self/ns/net"

// Kill starts cmd, sends it SIGKILL after delay and waits for it. It
// reports whether the signal ended the process; false means it had exited
// on its own before. The tests of crash safety use it to stop a call of
// the plugin at a random moment.
func Kill(t testing.TB, cmd *exec.Cmd, delay time.Duration) bool {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	time.Sleep(delay)
	// An error here is a process that has exited already: Wait tells.
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("wait for %s: %v", cmd.Path, err)
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// Snapshot describes the network namespaces at paths, for comparing them
// before and after: each link with its kind, master, state, alias and
// addresses, the routes of every table, and every nftables table with its
// chains and their rule counts, and its sets and maps with their elements.
// Counters and other values that change by themselves are left out.
func Snapshot(t testing.TB, paths ...string) string {
	t.Helper()
	var all []string
	for _, path := range paths {
		all = append(all, "netns "+path, snapshot(t, path))
	}
	return strings.Join(all, "\n")
}

func snapshot(t testing.TB, path string) string {
	t.Helper()
	h := Handle(t, path)
	var lines []string
	links, err := h.LinkList()
	if err != nil {
		t.Fatalf("list links in %s: %v", path, err)
	}
	names := make(map[int]string)
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	for _, l := range links {
		a := l.Attrs()
		lines = append(lines, fmt.Sprintf("link %s %s master=%q up=%t alias=%q", a.Name, l.Type(), names[a.MasterIndex], a.Flags&1 != 0, a.Alias))
		addrs, err := h.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			t.Fatalf("list addresses of %s in %s: %v", a.Name, path, err)
		}
		for _, ad := range addrs {
			lines = append(lines, fmt.Sprintf("addr %s %s", a.Name, ad.IPNet))
		}
	}
	routes, err := h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatalf("list routes in %s: %v", path, err)
	}
	for _, r := range routes {
		lines = append(lines, fmt.Sprintf("route table=%d dst=%v gw=%v dev=%s proto=%d metric=%d", r.Table, r.Dst, r.Gw, names[r.LinkIndex], r.Protocol, r.Priority))
	}
	lines = append(lines, nftState(t, path)...)
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// nftState lists the nftables objects of the namespace at path.
func nftState(t testing.TB, path string) []string {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatalf("open netns %s: %v", path, err)
	}
	defer ns.Close()
	conn, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		t.Fatalf("open nftables socket in %s: %v", path, err)
	}
	tables, err := conn.ListTables()
	if err != nil {
		t.Fatalf("list nftables tables in %s: %v", path, err)
	}
	var lines []string
	for _, tb := range tables {
		lines = append(lines, fmt.Sprintf("nft table %d %s", tb.Family, tb.Name))
	}
	chains, err := conn.ListChains()
	if err != nil {
		t.Fatalf("list nftables chains in %s: %v", path, err)
	}
	for _, ch := range chains {
		rules, err := conn.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatalf("list the rules of chain %s in %s: %v", ch.Name, path, err)
		}
		lines = append(lines, fmt.Sprintf("nft chain %d %s %s: %d rules", ch.Table.Family, ch.Table.Name, ch.Name, len(rules)))
	}
	for _, tb := range tables {
		sets, err := conn.GetSets(tb)
		if err != nil {
			t.Fatalf("list the sets of table %s in %s: %v", tb.Name, path, err)
		}
		for _, s := range sets {
			elems, err := conn.GetSetElements(s)
			if err != nil {
				t.Fatalf("list set %s in %s: %v", s.Name, path, err)
			}
			lines = append(lines, fmt.Sprintf("nft set %d %s %s", tb.Family, tb.Name, s.Name))
			for _, e := range elems {
				lines = append(lines, fmt.Sprintf("nft element %d %s %s %x:%x", tb.Family, tb.Name, s.Name, e.Key, e.Val))
			}
		}
	}
	return lines
}

// Settle waits up to a second for state, a function such as one that
// takes a Snapshot, to return want, and returns what it returned last:
// the kernel finishes deleting some links after the call that deleted them
// returns.
func Settle(t testing.TB, want string, state func() string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for {
		got := state()
		if got == want || ctx.Err() != nil {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Diff returns the lines of before and after that only one of them has,
// marked - and +.
func Diff(before, after string) string {
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	var out []string
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
