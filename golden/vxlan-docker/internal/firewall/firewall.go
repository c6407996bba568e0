// Package firewall gives the plugin's networks what netavark's nftables
// firewall gives its own bridge networks, which plugin networks do not get
// from netavark: outbound NAT (masquerade), published ports (DNAT, with
// hairpin and localhost access) and isolation between networks. It is front
// end neutral: the netavark plugin, the Docker driver and the CNI plugin
// translate their own port mappings and options into the Network and
// Container values here.
//
// Everything lives in one nftables table of the plugin's own, inet NAME,
// written over netlink (github.com/google/nftables): no nft binary, and
// never a rule in netavark's, Docker's or anyone else's table. `nft list
// table inet NAME` shows it. Its shape, in nft syntax, is:
//
//   - chains prerouting and output (nat, dstnat) send traffic for a local
//     address to chain hostports, which DNATs it through four maps of
//     published ports: ports_v4 and ports_v6 for ports on every address of
//     a family, ports_v4_addr and ports_v6_addr for ports on one address;
//   - chain postrouting (nat, srcnat) jumps, by the bridge a packet came
//     from, to that network's chain BRIDGE-nat, which masquerades traffic
//     to anything outside its subnets but multicast, and by the bridge it
//     goes to, to BRIDGE-hairpin, which masquerades traffic of its
//     containers to their own network's published ports;
//   - chain forward (filter) jumps, by the bridge a packet comes from or
//     goes to, to the network's chains BRIDGE-out and BRIDGE-in: internal
//     networks and isolation;
//   - sets bridges and isolated name the bridges for isolation.
//
// A container's state is elements of the port maps, each with a comment
// naming its container and network, and nothing else: adding and removing a
// container costs the same with one container on the host or thousands,
// where rules tagged per container would need a listing of every rule at
// each removal. A network's state is its three chains and one element in
// each dispatch map and set, written on every setup of one of its
// containers and removed with its last. Every change is one netlink batch,
// which the kernel applies whole or not at all.
//
// Where Docker runs, its iptables FORWARD chain may drop what this table
// accepts: each network also gets two accepts in Docker's DOCKER-USER chain
// (see docker.go).
//
// The host's forwarding sysctls are the dataplane's business, as in
// netavark, and so are not set here.
package firewall

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"example.com/demo/internal/dataplane"
)

// Isolation is how a network is cut off from the plugin's other networks,
// as netavark's isolate option.
type Isolation int

const (
	// IsolateNone: reachable from, and able to reach, the other
	// networks that are not isolated from it.
	IsolateNone Isolation = iota
	// Isolate (isolate=true): cannot reach other isolated networks.
	Isolate
	// IsolateStrict (isolate=strict): cannot reach any other network of
	// the plugin.
	IsolateStrict
)

// ParseIsolation parses netavark's isolate option: "true", "strict",
// "false" or "".
func ParseIsolation(s string) (Isolation, error) {
	switch s {
	case "", "false":
		return IsolateNone, nil
	case "true":
		return Isolate, nil
	case "strict":
		return IsolateStrict, nil
	}
	return 0, fmt.Errorf("isolate %q: want true, strict or false", s)
}

func (i Isolation) String() string {
	switch i {
	case Isolate:
		return "true"
	case IsolateStrict:
		return "strict"
	}
	return "false"
}

// Network is what the firewall needs to know of a network.
type Network struct {
	// Name appears in the comments of the network's objects.
	Name string
	// Bridge is the network's bridge. It names the network's chains and
	// elements, and is unique on the host at any time.
	Bridge string
	// Subnets are the network's subnets.
	Subnets []netip.Prefix
	// Internal networks reach nothing beyond their bridge, and publish no
	// ports.
	Internal bool
	// NoMasquerade turns outbound NAT off, for networks whose subnets are
	// routed (Docker's enable_ip_masquerade=false, CNI's ipMasq false).
	NoMasquerade bool
	// Isolate cuts the network off from the plugin's other networks.
	Isolate Isolation
}

// Container is one container on a network.
type Container struct {
	// ID and Name identify the container in the comments of its elements.
	ID, Name string
	// Addresses are the container's addresses on the network. Ports are
	// forwarded to the first of each family, as netavark does.
	Addresses []netip.Addr
	// Ports are the container's published ports.
	Ports []Port
}

// Port is a published port range: HostPort to HostPort+Range-1 on HostIP
// forwarded to ContainerPort to ContainerPort+Range-1.
type Port struct {
	Protocol Protocol
	// HostIP is the host address the port is published on. The zero Addr
	// is every address of both families, 0.0.0.0 every IPv4 address and ::
	// every IPv6 address.
	HostIP        netip.Addr
	HostPort      uint16
	ContainerPort uint16
	// Range is the number of ports, at least 1.
	Range uint16
}

func (p Port) String() string {
	s := fmt.Sprint(p.HostPort)
	if p.HostIP.IsValid() {
		s = netip.AddrPortFrom(p.HostIP, p.HostPort).String()
	}
	if p.Range > 1 {
		s += fmt.Sprintf("-%d", int(p.HostPort)+int(p.Range)-1)
	}
	return s + "/" + p.Protocol.String()
}

// Protocol is a transport protocol that ports can be published for.
type Protocol uint8

// The protocols, by their IP protocol numbers.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case SCTP:
		return "sctp"
	}
	return fmt.Sprintf("protocol %d", uint8(p))
}

// ErrPortPublished is the error of a port that another container publishes.
var ErrPortPublished = errors.New("port already published")

// Firewall changes the plugin's table. Its methods are safe to call from
// several processes at once: each change takes a lock of the table, and
// callers hold the lock of the network's bridge (package dataplane's Lock)
// around changes of one network, as around its links.
type Firewall struct {
	// Table is the table's name, in the inet family: the plugin's name.
	Table string
	// LockDir holds the table's lock file.
	LockDir string
}

// Add makes sure the table and n's chains are in place and publishes c's
// ports, in one batch. It may be called again for the same container, and
// with no ports, to put n's rules in place only (Docker's Join). A port
// that another container publishes is refused with an error wrapping
// ErrPortPublished that names that container; one that the same container
// publishes through another network is left to that network, as netavark's
// first matching rule would be.
func (f *Firewall) Add(n Network, c Container) error {
	return f.change(func(conn *nftables.Conn, t *table) error {
		// One listing of every chain tells whether the table and the
		// network's chains are in place, and whether Docker's DOCKER-USER
		// is there. Writing the chains again would delete their rules, and
		// a batch that deletes anything costs the kernel more: it is done
		// only when some are missing.
		chains, err := conn.ListChains()
		if err != nil {
			return fmt.Errorf("firewall: list chains: %w", err)
		}
		complete := t.hasChains(chains, n)
		ports := t.portElements(n, c)
		// One retry: the first failure tells which ports clash.
		for try := 0; ; try++ {
			if !complete {
				if err := t.add(conn); err != nil {
					return err
				}
				if err := t.addNetwork(conn, n); err != nil {
					return err
				}
			}
			if err := t.addDockerUser(conn, n, chains); err != nil {
				return err
			}
			for _, e := range byMap(ports) {
				if err := conn.SetAddElements(e.set, e.elements); err != nil {
					return err
				}
			}
			err := conn.Flush()
			if err == nil || !errors.Is(err, unix.EEXIST) || try > 0 {
				return wrapNetlink("add", n, err)
			}
			found, cerr := clashes(conn, ports)
			if cerr != nil || len(found) == 0 {
				return errors.Join(wrapNetlink("add", n, err), cerr)
			}
			for _, cl := range found {
				if !sameContainer(cl.theirs.Comment, cl.ours.el.Comment) {
					return fmt.Errorf("%w: host port %s is published by %s", ErrPortPublished, cl.ours.key, cl.theirs.Comment)
				}
				ports = slices.DeleteFunc(ports, func(e portElement) bool { return e.key == cl.ours.key })
			}
		}
	})
}

// Remove withdraws c's ports, and with last (n's last container has gone)
// n's chains and elements too, and the table once no network is left in it.
// It removes only what is c's: a port that another container publishes is
// left alone. It succeeds when there is nothing to remove, the table
// included.
func (f *Firewall) Remove(n Network, c Container, last bool) error {
	return f.change(func(conn *nftables.Conn, t *table) error {
		if _, err := conn.ListTableOfFamily(t.t.Name, t.t.Family); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return nil
			}
			return fmt.Errorf("look up table inet %s: %w", t.t.Name, err)
		}
		ports := t.portElements(n, c)
		for try := 0; ; try++ {
			// Each element is added before it is deleted: the add is a
			// no-op when the element is there with our value, makes the
			// delete succeed when it is gone, and fails the batch when
			// another container holds the port.
			for _, e := range byMap(ports) {
				if err := conn.SetAddElements(e.set, e.elements); err != nil {
					return err
				}
				if err := conn.SetDeleteElements(e.set, e.elements); err != nil {
					return err
				}
			}
			if last {
				if err := t.removeNetwork(conn, n); err != nil {
					return err
				}
				chains, err := conn.ListChains()
				if err != nil {
					return fmt.Errorf("firewall: list chains: %w", err)
				}
				if err := t.removeDockerUser(conn, n, chains); err != nil {
					return err
				}
			}
			err := conn.Flush()
			if err == nil {
				break
			}
			if !errors.Is(err, unix.EEXIST) || try > 0 {
				return wrapNetlink("remove", n, err)
			}
			found, cerr := clashes(conn, ports)
			if cerr != nil || len(found) == 0 {
				return errors.Join(wrapNetlink("remove", n, err), cerr)
			}
			for _, cl := range found {
				ports = slices.DeleteFunc(ports, func(e portElement) bool { return e.key == cl.ours.key })
			}
		}
		if !last {
			return nil
		}
		return t.removeIfUnused(conn)
	})
}

// removeIfUnused deletes the table if it has no network left.
func (t *table) removeIfUnused(conn *nftables.Conn) error {
	left, err := conn.GetSetElements(t.bridges)
	if err != nil || len(left) > 0 {
		return err
	}
	conn.DelTable(t.t)
	if err := conn.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete table inet %s: %w", t.t.Name, err)
	}
	return nil
}

// change runs fn with a connection to the kernel, under the table's lock.
func (f *Firewall) change(fn func(*nftables.Conn, *table) error) error {
	conn, err := nftables.New(nftables.AsLasting(), nftables.WithSockOptions(sockOptions))
	if err != nil {
		return fmt.Errorf("open nftables netlink socket: %w", err)
	}
	// Closing the socket waits for the kernel to free what the batch
	// removed, for a few milliseconds: it is done once the lock is
	// released, so that other containers' changes do not wait for it.
	defer conn.CloseLasting()
	return dataplane.Locked(filepath.Join(f.LockDir, "firewall"), f.Table, func(*dataplane.FileLock) error {
		return fn(conn, newTable(f.Table))
	})
}

// Socket buffers for the largest batch, every port of a 65535 port range
// in both families, and its acknowledgements: one per message, which the
// kernel accounts at about a kilobyte each.
const (
	sendBuffer    = 32 << 20
	receiveBuffer = 4 << 20
)

// sockOptions make room for large batches. A batch goes to the kernel in
// one datagram, which must fit the socket's send buffer, and comes back as
// one acknowledgement per message, which must all fit the receive buffer:
// a batch whose acknowledgements overflow it looks failed although the
// kernel applied it. The kernel is also asked not to copy each message
// into its acknowledgement.
func sockOptions(c *netlink.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = errors.Join(
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sendBuffer),
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, receiveBuffer))
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("size the netlink socket's buffers: %w", serr)
	}
	return c.SetOption(netlink.CapAcknowledge, true)
}

// wrapNetlink describes a failed batch.
func wrapNetlink(op string, n Network, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("firewall: %s rules of network %s: %w", op, n.Name, err)
}

// Check reports an error unless n's chains are in place and c's ports are
// published to c: what a CNI CHECK asks. It changes nothing.
func (f *Firewall) Check(n Network, c Container) error {
	conn, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return fmt.Errorf("open nftables netlink socket: %w", err)
	}
	defer conn.CloseLasting()
	t := newTable(f.Table)
	chains, err := conn.ListChains()
	if err != nil {
		return fmt.Errorf("firewall: list chains: %w", err)
	}
	for _, ch := range t.chainsOf(n).all() {
		if !t.hasChain(chains, ch.Name) {
			return fmt.Errorf("firewall: chain %s of network %s is missing from table inet %s", ch.Name, n.Name, t.t.Name)
		}
	}
	ports := t.portElements(n, c)
	for _, group := range byMap(ports) {
		have, err := conn.GetSetElements(group.set)
		if err != nil {
			return fmt.Errorf("firewall: list map %s of table inet %s: %w", group.set.Name, t.t.Name, err)
		}
		for _, e := range ports {
			if e.m.set == group.set && !slices.ContainsFunc(have, func(h nftables.SetElement) bool {
				return bytes.Equal(h.Key, e.el.Key) && bytes.Equal(h.Val, e.el.Val)
			}) {
				return fmt.Errorf("firewall: host port %s of %s is not published (map %s of table inet %s)",
					e.key, c.Name, group.set.Name, t.t.Name)
			}
		}
	}
	return nil
}
