package firewall

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
)

// A port map's key is the concatenation (host address,) protocol, port and
// its value the concatenation container address, port. The kernel pads
// each part of a concatenation to a multiple of 4 bytes.

// pad4 returns b zero padded to a multiple of 4 bytes.
func pad4(b []byte) []byte {
	if n := len(b) % 4; n != 0 {
		b = append(b, make([]byte, 4-n)...)
	}
	return b
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, pad4(p)...)
	}
	return out
}

// owner is the comment of a container's elements: it names the container
// for `nft list` and for the error of a port that another container
// wants, and ends with the container's short ID, which tells whether two
// networks' elements belong to one container.
func owner(n Network, c Container) string {
	return fmt.Sprintf("%s on %s (container %s)", c.Name, n.Name, shortID(c.ID))
}

func shortID(id string) string {
	return id[:min(len(id), 12)]
}

// sameContainer reports whether two owner comments name one container.
func sameContainer(a, b string) bool {
	_, ida, oka := strings.Cut(a, "(container ")
	_, idb, okb := strings.Cut(b, "(container ")
	return oka && okb && ida == idb
}

// portElement is one element of a port map, and the host port it is.
type portElement struct {
	m   portMap
	key portKey
	el  nftables.SetElement
}

// portElements returns the elements that publish c's ports on n: for each
// family of c's addresses, one per port of each range, in the map by
// address or the one for every address.
func (t *table) portElements(n Network, c Container) []portElement {
	note := owner(n, c)
	var out []portElement
	for _, m := range t.ports {
		target, ok := firstAddr(c.Addresses, m.ipv4)
		if !ok {
			continue
		}
		for _, p := range c.Ports {
			for _, k := range p.keys(n.hasFamily(true), n.hasFamily(false)) {
				if k.ipv4 != m.ipv4 || k.addr.IsValid() != m.byAddr {
					continue
				}
				key := concat([]byte{byte(k.proto)}, binaryutil.BigEndian.PutUint16(k.port))
				if m.byAddr {
					key = concat(k.addr.AsSlice(), key)
				}
				cport := p.ContainerPort + (k.port - p.HostPort)
				out = append(out, portElement{m: m, key: k, el: nftables.SetElement{
					Key:     key,
					Val:     concat(target.AsSlice(), binaryutil.BigEndian.PutUint16(cport)),
					Comment: note,
				}})
			}
		}
	}
	return out
}

// firstAddr returns the first address of the family in addrs.
func firstAddr(addrs []netip.Addr, ipv4 bool) (netip.Addr, bool) {
	for _, a := range addrs {
		if a.Is4() == ipv4 {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// maxElementsPerMessage bounds the elements of one netlink message: their
// list is one attribute, whose length the kernel reads as 16 bits.
const maxElementsPerMessage = 256

// byMap groups elements by their map, in the table's order of maps, for one
// message per map and up to maxElementsPerMessage of its elements.
func byMap(els []portElement) []elements {
	var out []elements
	for _, e := range els {
		if len(out) == 0 || out[len(out)-1].set != e.m.set || len(out[len(out)-1].elements) == maxElementsPerMessage {
			out = append(out, elements{set: e.m.set})
		}
		out[len(out)-1].elements = append(out[len(out)-1].elements, e.el)
	}
	return out
}

// clash is an element of the kernel's with the key of one of ours and
// another value: the port is published to another address.
type clash struct {
	ours   portElement
	theirs nftables.SetElement
}

// clashes reads the maps that els go into and returns the elements there
// that have the key of one of els and another value. It lists whole maps,
// so it is only called once a batch has failed on such an element.
func clashes(c *nftables.Conn, els []portElement) ([]clash, error) {
	var out []clash
	listed := make(map[*nftables.Set]bool)
	for _, group := range byMap(els) {
		if listed[group.set] {
			continue
		}
		listed[group.set] = true
		have, err := c.GetSetElements(group.set)
		if err != nil {
			return nil, fmt.Errorf("list map %s: %w", group.set.Name, err)
		}
		for _, e := range els {
			if e.m.set != group.set {
				continue
			}
			for _, h := range have {
				if bytes.Equal(h.Key, e.el.Key) && !bytes.Equal(h.Val, e.el.Val) {
					out = append(out, clash{ours: e, theirs: h})
				}
			}
		}
	}
	return out, nil
}
