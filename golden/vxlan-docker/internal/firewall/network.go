package firewall

import (
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// networkChains are a network's chains: nat for its outbound NAT, hairpin
// for the NAT of its containers' traffic to published ports of its own, out
// and in for what it may forward.
type networkChains struct {
	nat, hairpin, out, in *nftables.Chain
}

func (t *table) chainsOf(n Network) networkChains {
	chain := func(suffix string) *nftables.Chain {
		return &nftables.Chain{Table: t.t, Name: n.Bridge + suffix}
	}
	return networkChains{nat: chain(suffixNAT), hairpin: chain(suffixHairpin), out: chain(suffixOut), in: chain(suffixIn)}
}

func (nc networkChains) all() []*nftables.Chain {
	return []*nftables.Chain{nc.nat, nc.hairpin, nc.out, nc.in}
}

// addNetwork queues n's chains, written anew, and its elements in the
// dispatch maps and sets. The table's objects must be queued before.
func (t *table) addNetwork(c *nftables.Conn, n Network) error {
	nc := t.chainsOf(n)
	note := "network " + n.Name
	for _, ch := range nc.all() {
		c.AddChain(ch)
		c.FlushChain(ch)
	}

	// Traffic from the network, after routing.
	if !n.Internal {
		for _, s := range n.Subnets {
			ipv4 := s.Addr().Is4()
			rule(c, nc.hairpin, note+": hairpin to a published port", nfproto(ipv4),
				inPrefix(saddr, s, expr.CmpOpEq), inPrefix(daddr, s, expr.CmpOpEq), ctDNAT(), []expr.Any{&expr.Masq{}})
			if !n.NoMasquerade {
				rule(c, nc.nat, note+": outbound NAT", nfproto(ipv4), inPrefix(saddr, s, expr.CmpOpEq),
					inPrefix(daddr, s, expr.CmpOpNeq), inPrefix(daddr, multicast(ipv4), expr.CmpOpNeq), []expr.Any{&expr.Masq{}})
			}
		}
	}

	// What the network may forward. Traffic that stays on the bridge
	// passes this hook too where br_netfilter is loaded: it is left alone.
	rule(c, nc.out, note+": within the network", ifname(expr.MetaKeyOIFNAME, n.Bridge, expr.CmpOpEq), []expr.Any{verdict(expr.VerdictReturn)})
	rule(c, nc.in, note+": within the network", ifname(expr.MetaKeyIIFNAME, n.Bridge, expr.CmpOpEq), []expr.Any{verdict(expr.VerdictReturn)})
	if n.Internal {
		rule(c, nc.out, note+": internal", []expr.Any{verdict(expr.VerdictDrop)})
		rule(c, nc.in, note+": internal", []expr.Any{verdict(expr.VerdictDrop)})
	}
	rule(c, nc.out, note+": published ports stay reachable", ctDNAT(), []expr.Any{verdict(expr.VerdictAccept)})
	switch n.Isolate {
	case Isolate:
		rule(c, nc.out, note+": isolate=true", ifnameIn(expr.MetaKeyOIFNAME, t.isolated), []expr.Any{verdict(expr.VerdictDrop)})
	case IsolateStrict:
		rule(c, nc.out, note+": isolate=strict", ifnameIn(expr.MetaKeyOIFNAME, t.bridges), []expr.Any{verdict(expr.VerdictDrop)})
	}

	for _, e := range t.networkElements(n, note) {
		if err := c.SetAddElements(e.set, e.elements); err != nil {
			return err
		}
	}
	// Whether the bridge is in isolated is set either way: the network may
	// have had another isolate option when its bridge was last used.
	isolated := []nftables.SetElement{{Key: ifnameData(n.Bridge), Comment: note}}
	if err := c.SetAddElements(t.isolated, isolated); err != nil {
		return err
	}
	if n.Isolate == IsolateNone {
		return c.SetDeleteElements(t.isolated, isolated)
	}
	return nil
}

// removeNetwork queues the removal of n's chains and elements. Each is
// added first, which is a no-op if it exists, so that the batch succeeds
// whatever of them is left.
func (t *table) removeNetwork(c *nftables.Conn, n Network) error {
	nc := t.chainsOf(n)
	for _, ch := range nc.all() {
		c.AddChain(ch)
	}
	isolated := elements{t.isolated, []nftables.SetElement{{Key: ifnameData(n.Bridge)}}}
	for _, e := range append(t.networkElements(n, ""), isolated) {
		if err := c.SetAddElements(e.set, e.elements); err != nil {
			return err
		}
		if err := c.SetDeleteElements(e.set, e.elements); err != nil {
			return err
		}
	}
	// The chains go after the map elements that jump to them.
	for _, ch := range nc.all() {
		c.DelChain(ch)
	}
	return nil
}

// elements are elements of one set.
type elements struct {
	set      *nftables.Set
	elements []nftables.SetElement
}

// networkElements are n's elements in the dispatch maps, which jump to its
// chains, and in the set of bridges, with the comment note.
func (t *table) networkElements(n Network, note string) []elements {
	nc := t.chainsOf(n)
	el := func(set *nftables.Set, target *nftables.Chain) elements {
		e := nftables.SetElement{Key: ifnameData(n.Bridge), Comment: note}
		if target != nil {
			e.VerdictData = jump(target.Name)
		}
		return elements{set, []nftables.SetElement{e}}
	}
	return []elements{el(t.natMap, nc.nat), el(t.hairpin, nc.hairpin), el(t.out, nc.out), el(t.in, nc.in), el(t.bridges, nil)}
}
