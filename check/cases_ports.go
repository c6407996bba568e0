package check

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// The ports cases build a small world of scratch namespaces: a host, where
// the plugin runs as netavark would run it there, an outside network behind
// a veth of the host, and the container. The container publishes a port;
// a client outside connects to the host's address on it, and the server in
// the container answers. A plugin may refuse port mappings with an error,
// which podman shows; one that takes them and leaves them unreachable
// fails, since podman would tell its user the port is published while
// clients hang.

// Addresses of the world's outside link, from the documentation range.
var (
	portsHost    = netip.MustParsePrefix("192.0.2.1/24")
	portsOutside = netip.MustParsePrefix("192.0.2.2/24")
)

// Ports of the world: the one the container publishes on the host, and the
// one its server listens on.
const (
	portsHostPort      = 18080
	portsContainerPort = 8080
	// portsProbeWait bounds a client's wait for the server's answer.
	portsProbeWait = 2 * time.Second
)

// portsAnswer is what the container's server answers every client.
const portsAnswer = "published"

// portsCases sets a container up with a published tcp port, checks it from
// outside, tears it down and checks that the port is gone.
func (s *suite) portsCases(ctx context.Context) {
	name := func(step string) string { return "ports/" + step }
	if reason := needsRoot(); reason != "" {
		s.skip("ports", nil, "%s", reason)
		return
	}
	w, err := newPortsWorld()
	if err != nil {
		s.fail(name("setup"), nil, "build the test's namespaces: %v", err)
		return
	}
	defer func() {
		if err := w.delete(); err != nil {
			s.fail(name("cleanup"), nil, "%v", err)
		}
	}()
	network, ok := s.cycleNetwork(ctx, w.host.path, name("create"))
	if !ok {
		s.skip(name("setup"), nil, "create failed")
		return
	}
	req, err := execRequest(network, "eth0", types.PortMapping{HostPort: portsHostPort, ContainerPort: portsContainerPort, Range: 1, Protocol: "tcp"})
	if err != nil {
		s.fail(name("setup"), nil, "%v", err)
		return
	}
	r := s.runPluginIn(ctx, w.host.path, req.json, "setup", w.container.path)
	if refusal(r) {
		// A refusal is fine, if it is a proper error answer.
		msg, err := errorAnswer(r)
		s.result(name("setup"), r, err)
		for _, c := range []string{"reachable", "teardown", "withdrawn"} {
			s.skip(name(c), nil, "the plugin refused port mappings: %s", msg)
		}
		return
	}
	status, err := successAnswer(r)
	if err == nil {
		_, err = checkStatus(status, req.exec.NetworkOptions.StaticIPs)
	}
	s.result(name("setup"), r, err)
	if err != nil {
		return
	}
	stop, err := serveIn(w.container.path, portsContainerPort)
	if err != nil {
		s.fail(name("reachable"), nil, "serve in the container: %v", err)
	} else {
		defer stop()
		s.result(name("reachable"), nil, w.probe(true))
	}
	r = s.runPluginIn(ctx, w.host.path, req.json, "teardown", w.container.path)
	s.result(name("teardown"), r, teardownAnswer(r))
	s.result(name("withdrawn"), nil, w.probe(false))
}

// portsWorld is the ports cases' namespaces.
type portsWorld struct {
	host, outside, container *scratchNetns
}

// newPortsWorld makes the namespaces and the link between the host and
// the outside.
func newPortsWorld() (w *portsWorld, err error) {
	w = &portsWorld{}
	defer func() {
		if err != nil {
			err = errors.Join(err, w.delete())
		}
	}()
	for _, ns := range []**scratchNetns{&w.host, &w.outside, &w.container} {
		if *ns, err = newScratchNetns(); err != nil {
			return w, err
		}
	}
	host, err := handleAt(w.host.path)
	if err != nil {
		return w, err
	}
	defer host.Close()
	outside, err := handleAt(w.outside.path)
	if err != nil {
		return w, err
	}
	defer outside.Close()
	outNS, err := netns.GetFromPath(w.outside.path)
	if err != nil {
		return w, err
	}
	defer outNS.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "outside"}, PeerName: "eth0", PeerNamespace: netlink.NsFd(outNS)}
	if err := host.LinkAdd(veth); err != nil {
		return w, fmt.Errorf("link the host to the outside: %w", err)
	}
	for _, end := range []struct {
		h    *netlink.Handle
		name string
		addr netip.Prefix
	}{{host, "outside", portsHost}, {outside, "eth0", portsOutside}} {
		if err := linkUp(end.h, end.name, end.addr); err != nil {
			return w, err
		}
		if err := linkUp(end.h, "lo", netip.Prefix{}); err != nil {
			return w, err
		}
	}
	return w, nil
}

// linkUp gives the link name addr, if valid, and sets it up.
func linkUp(h *netlink.Handle, name string, addr netip.Prefix) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if addr.IsValid() {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), addr.Addr().BitLen())}}
		if err := h.AddrAdd(link, a); err != nil {
			return fmt.Errorf("add %s to %s: %w", addr, name, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// delete removes the namespaces that were made.
func (w *portsWorld) delete() error {
	var errs []error
	for _, ns := range []*scratchNetns{w.host, w.outside, w.container} {
		if ns != nil {
			errs = append(errs, ns.delete())
		}
	}
	return errors.Join(errs...)
}

// probe connects from the outside to the host's address on the published
// port and checks that the container's server answers, if reachable is
// true, or that nothing does.
func (w *portsWorld) probe(reachable bool) error {
	addr := netip.AddrPortFrom(portsHost.Addr(), portsHostPort).String()
	var answer string
	err := inNetns(w.outside.path, func() error {
		conn, err := net.DialTimeout("tcp", addr, portsProbeWait)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(portsProbeWait))
		answer, err = bufio.NewReader(conn).ReadString('\n')
		return err
	})
	answer = strings.TrimSpace(answer)
	switch {
	case reachable && answer != portsAnswer:
		return fmt.Errorf("the plugin took port_mappings (host port %d to container port %d), but a client outside the host, "+
			"connecting to %s, got no answer from the container (%v): a plugin that does not publish ports must refuse them with an error",
			portsHostPort, portsContainerPort, addr, err)
	case !reachable && answer == portsAnswer:
		return fmt.Errorf("%s still reaches the container after teardown", addr)
	}
	return nil
}

// serveIn serves portsAnswer on port, on every address of the netns at
// path, until stop is called.
func serveIn(path string, port int) (stop func(), err error) {
	var l net.Listener
	err = inNetns(path, func() error {
		var err error
		l, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, portsAnswer)
			c.Close()
		}
	}()
	return func() { l.Close() }, nil
}
