package nstest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Addresses of the link that NewOutside makes: the host's end and the
// outside's, and another address of the host, on its loopback, that the
// outside routes to through the link.
const (
	HostV4    = "192.0.2.1"
	OutsideV4 = "192.0.2.2"
	HostV6    = "2001:db8:2::1"
	OutsideV6 = "2001:db8:2::2"
	OtherV4   = "198.51.100.1"
)

// NewOutside makes a namespace that plays the network outside a host: it
// is behind a veth from the namespace at hostPath ("" for the test's own),
// with the addresses above, and returns its path. Traffic that leaves the
// host's containers for it must be NATed to the host's address, and it
// reaches their published ports on the host's addresses.
func NewOutside(t testing.TB, hostPath string) string {
	t.Helper()
	out := NewNetns(t)
	var h *netlink.Handle
	if hostPath == "" {
		var err error
		if h, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(h.Close)
	} else {
		h = Handle(t, hostPath)
	}
	o := Handle(t, out)
	outNS, err := netns.GetFromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	defer outNS.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = UniqueName("out-")
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: "eth0", PeerNamespace: netlink.NsFd(outNS)}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatalf("create the outside link: %v", err)
	}
	t.Cleanup(func() { h.LinkDel(veth) })
	for _, step := range []struct {
		h      *netlink.Handle
		link   string
		addrs  []string
		routes []string
	}{
		{h, attrs.Name, []string{HostV4 + "/24", HostV6 + "/64"}, nil},
		{h, "lo", []string{OtherV4 + "/32"}, nil},
		{o, "eth0", []string{OutsideV4 + "/24", OutsideV6 + "/64"}, []string{OtherV4 + "/32"}},
		{o, "lo", nil, nil},
	} {
		link, err := step.h.LinkByName(step.link)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range step.addrs {
			addr, err := netlink.ParseAddr(a)
			if err != nil {
				t.Fatal(err)
			}
			addr.Flags = unix.IFA_F_NODAD // usable at once
			if err := step.h.AddrAdd(link, addr); err != nil && !errors.Is(err, unix.EEXIST) {
				t.Fatalf("add %s to %s: %v", a, step.link, err)
			}
		}
		if err := step.h.LinkSetUp(link); err != nil {
			t.Fatal(err)
		}
		for _, r := range step.routes {
			dst, _ := netlink.ParseIPNet(r)
			gw := netip.MustParseAddr(HostV4)
			if err := step.h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: dst, Gw: gw.AsSlice()}); err != nil {
				t.Fatalf("route %s: %v", r, err)
			}
		}
	}
	return out
}

// Serve runs servers for network ("tcp" or "udp") on each of ports, on
// every address of the namespace at path, until the test ends. Each answers
// a client with the client's address as the server sees it, one line: a
// test reads through it whether a connection was NATed and to what.
func Serve(t testing.TB, path, network string, ports ...int) {
	t.Helper()
	for _, port := range ports {
		addr := fmt.Sprintf(":%d", port)
		var closer interface{ Close() error }
		err := InNetns(path, func() error {
			switch network {
			case "tcp":
				l, err := net.Listen("tcp", addr)
				if err == nil {
					closer = l
					go serveTCP(l)
				}
				return err
			case "udp":
				c, err := net.ListenPacket("udp", addr)
				if err == nil {
					closer = c
					go serveUDP(c)
				}
				return err
			}
			return fmt.Errorf("network %q: want tcp or udp", network)
		})
		if err != nil {
			t.Fatalf("serve %s %s in %s: %v", network, addr, path, err)
		}
		t.Cleanup(func() { closer.Close() })
	}
}

func serveTCP(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		peer := c.RemoteAddr().(*net.TCPAddr).IP.String()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintln(c, peer)
		c.Close()
	}
}

func serveUDP(c net.PacketConn) {
	buf := make([]byte, 512)
	for {
		_, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		c.WriteTo([]byte(from.(*net.UDPAddr).IP.String()+"\n"), from)
	}
}

// ErrUnreachable is the error of a Probe that got no answer: refused, or
// no reply within its time.
var ErrUnreachable = errors.New("unreachable")

// Probe connects from the namespace at path to addr ("192.0.2.1:80",
// "[2001:db8::1]:80") over network and returns the address that a server
// of Serve saw as its client, or an error wrapping ErrUnreachable when no
// answer came within timeout.
func Probe(path, network, addr string, timeout time.Duration) (string, error) {
	var conn net.Conn
	err := InNetns(path, func() error {
		var err error
		conn, err = net.DialTimeout(network, addr, timeout)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("%w: %s %s from %s: %v", ErrUnreachable, network, addr, path, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if network == "udp" {
		if _, err := conn.Write([]byte("probe\n")); err != nil {
			return "", fmt.Errorf("%w: %s %s from %s: %v", ErrUnreachable, network, addr, path, err)
		}
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("%w: %s %s from %s: %v", ErrUnreachable, network, addr, path, err)
	}
	return strings.TrimSpace(line), nil
}
