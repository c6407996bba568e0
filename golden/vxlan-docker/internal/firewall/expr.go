package firewall

import (
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// This file turns matches into nftables expressions. In an inet table
// nothing checks families: a payload match must follow a match of the
// packet's family (nfproto), or it would read IPv6 headers at IPv4 offsets.

// Registers: reg is the first 16-byte register; concatenations are loaded
// into consecutive 4-byte registers from reg32.
const (
	reg   = 1
	reg32 = 8
)

// nfproto matches the packet's family.
func nfproto(ipv4 bool) []expr.Any {
	fam := byte(unix.NFPROTO_IPV6)
	if ipv4 {
		fam = unix.NFPROTO_IPV4
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: []byte{fam}},
	}
}

// addrField is where an address is in the network header.
type addrField int

const (
	saddr addrField = iota
	daddr
)

// loadAddr loads the packet's source or destination address of the family
// into register r.
func loadAddr(field addrField, ipv4 bool, r uint32) *expr.Payload {
	p := &expr.Payload{DestRegister: r, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}
	switch {
	case !ipv4 && field == saddr:
		p.Offset, p.Len = 8, 16
	case !ipv4 && field == daddr:
		p.Offset, p.Len = 24, 16
	case field == daddr:
		p.Offset = 16
	}
	return p
}

// inPrefix matches an address of the packet in (op Eq) or outside (op Neq)
// prefix p. It needs a family match before it.
func inPrefix(field addrField, p netip.Prefix, op expr.CmpOp) []expr.Any {
	p = p.Masked()
	load := loadAddr(field, p.Addr().Is4(), reg)
	out := []expr.Any{load}
	if p.Bits() < p.Addr().BitLen() {
		mask := netip.PrefixFrom(allOnes(p.Addr().Is4()), p.Bits()).Masked().Addr().AsSlice()
		out = append(out, &expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: load.Len, Mask: mask, Xor: make([]byte, load.Len)})
	}
	return append(out, &expr.Cmp{Op: op, Register: reg, Data: p.Addr().AsSlice()})
}

func allOnes(ipv4 bool) netip.Addr {
	if ipv4 {
		return netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	var b [16]byte
	for i := range b {
		b[i] = 0xff
	}
	return netip.AddrFrom16(b)
}

// multicast is the multicast range of a family.
func multicast(ipv4 bool) netip.Prefix {
	if ipv4 {
		return netip.MustParsePrefix("224.0.0.0/4")
	}
	return netip.MustParsePrefix("ff00::/8")
}

// ifnameData is an interface name as the kernel compares it: IFNAMSIZ
// bytes, NUL padded.
func ifnameData(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// ifname matches the input (iif) or output interface's name.
func ifname(key expr.MetaKey, name string, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: reg},
		&expr.Cmp{Op: op, Register: reg, Data: ifnameData(name)},
	}
}

// ifnameIn matches an interface whose name is in set.
func ifnameIn(key expr.MetaKey, set *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: reg},
		&expr.Lookup{SourceRegister: reg, SetName: set.Name, SetID: set.ID},
	}
}

// ifnameVmap jumps to the chain that verdict map set gives the
// interface's name, if any.
func ifnameVmap(key expr.MetaKey, set *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: reg},
		&expr.Lookup{SourceRegister: reg, SetName: set.Name, SetID: set.ID, DestRegister: 0, IsDestRegSet: true},
	}
}

// ipsDstNAT is the conntrack status bit of a connection whose destination
// was NATed (IPS_DST_NAT of linux/netfilter/nf_conntrack_common.h).
const ipsDstNAT = 1 << 5

// ctDNAT matches packets of connections whose destination was NATed: those
// to a published port.
func ctDNAT() []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATUS, Register: reg},
		&expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg, Data: make([]byte, 4)},
	}
}

// toLocal matches packets for an address of the host.
func toLocal() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: reg, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

// dnatMap DNATs packets of the family to the address and port that map m
// gives for their (destination address,) protocol and destination port.
// A packet whose key is not in the map goes on unchanged.
func dnatMap(m portMap) []expr.Any {
	out := nfproto(m.ipv4)
	r := uint32(reg32)
	if m.byAddr {
		load := loadAddr(daddr, m.ipv4, r)
		out = append(out, load)
		r += load.Len / 4
	}
	out = append(out,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: r},
		&expr.Payload{DestRegister: r + 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Lookup{SourceRegister: reg32, SetName: m.set.Name, SetID: m.set.ID, DestRegister: reg32, IsDestRegSet: true},
	)
	fam, addrLen := uint32(unix.NFPROTO_IPV6), uint32(16)
	if m.ipv4 {
		fam, addrLen = unix.NFPROTO_IPV4, 4
	}
	return append(out, &expr.NAT{
		Type:        expr.NATTypeDestNAT,
		Family:      fam,
		RegAddrMin:  reg32,
		RegProtoMin: reg32 + addrLen/4,
		Specified:   true,
	})
}

func verdict(kind expr.VerdictKind) *expr.Verdict { return &expr.Verdict{Kind: kind} }

func jump(chain string) *expr.Verdict { return &expr.Verdict{Kind: expr.VerdictJump, Chain: chain} }
