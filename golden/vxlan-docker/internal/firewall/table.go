package firewall

import (
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// Names of the table's objects. A network's chains are named after its
// bridge, with a suffix, so they never take one of these names.
const (
	chainPrerouting  = "prerouting"
	chainOutput      = "output"
	chainHostports   = "hostports"
	chainPostrouting = "postrouting"
	chainForward     = "forward"

	setBridges  = "bridges"
	setIsolated = "isolated"
	mapNAT      = "nat"
	mapHairpin  = "hairpin"
	mapOut      = "out"
	mapIn       = "in"

	suffixNAT     = "-nat"
	suffixHairpin = "-hairpin"
	suffixOut     = "-out"
	suffixIn      = "-in"
)

// portMap is one of the maps of published ports: for IPv4 or IPv6, keyed
// by protocol and port, and by host address first when byAddr is set.
type portMap struct {
	set          *nftables.Set
	ipv4, byAddr bool
}

// table is the plugin's table and every object in it that does not belong
// to one network. Its methods queue messages on a connection; nothing
// reaches the kernel before the connection's Flush.
type table struct {
	t *nftables.Table

	prerouting, output, hostports, postrouting, forward *nftables.Chain

	bridges, isolated        *nftables.Set
	natMap, hairpin, out, in *nftables.Set
	ports                    []portMap
}

func newTable(name string) *table {
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: name}
	policy := nftables.ChainPolicyAccept
	base := func(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return &nftables.Chain{Table: t, Name: name, Type: typ, Hooknum: hook, Priority: prio, Policy: &policy}
	}
	ifnames := func(name string) *nftables.Set {
		return &nftables.Set{Table: t, Name: name, KeyType: nftables.TypeIFName, KeyByteOrder: binaryutil.NativeEndian}
	}
	vmap := func(name string) *nftables.Set {
		return &nftables.Set{Table: t, Name: name, KeyType: nftables.TypeIFName, KeyByteOrder: binaryutil.NativeEndian,
			IsMap: true, DataType: nftables.TypeVerdict}
	}
	ports := func(name string, ipv4, byAddr bool) portMap {
		addr := nftables.TypeIP6Addr
		if ipv4 {
			addr = nftables.TypeIPAddr
		}
		key := []nftables.SetDatatype{nftables.TypeInetProto, nftables.TypeInetService}
		if byAddr {
			key = append([]nftables.SetDatatype{addr}, key...)
		}
		return portMap{ipv4: ipv4, byAddr: byAddr, set: &nftables.Set{
			Table:         t,
			Name:          name,
			IsMap:         true,
			Concatenation: true,
			KeyType:       nftables.MustConcatSetType(key...),
			DataType:      nftables.MustConcatSetType(addr, nftables.TypeInetService),
		}}
	}
	return &table{
		t:           t,
		prerouting:  base(chainPrerouting, nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest),
		output:      base(chainOutput, nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest),
		hostports:   &nftables.Chain{Table: t, Name: chainHostports},
		postrouting: base(chainPostrouting, nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource),
		forward:     base(chainForward, nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter),
		bridges:     ifnames(setBridges),
		isolated:    ifnames(setIsolated),
		natMap:      vmap(mapNAT),
		hairpin:     vmap(mapHairpin),
		out:         vmap(mapOut),
		in:          vmap(mapIn),
		// The maps by address come first: a port published on one address
		// wins there over the same port published on every address.
		ports: []portMap{
			ports("ports_v4_addr", true, true),
			ports("ports_v4", true, false),
			ports("ports_v6_addr", false, true),
			ports("ports_v6", false, false),
		},
	}
}

// sets returns every set and map of the table.
func (t *table) sets() []*nftables.Set {
	sets := []*nftables.Set{t.bridges, t.isolated, t.natMap, t.hairpin, t.out, t.in}
	for _, m := range t.ports {
		sets = append(sets, m.set)
	}
	return sets
}

// hasChain reports whether chains, as the kernel lists them, hold the
// table's chain name.
func (t *table) hasChain(chains []*nftables.Chain, name string) bool {
	for _, ch := range chains {
		if ch.Table.Family == t.t.Family && ch.Table.Name == t.t.Name && ch.Name == name {
			return true
		}
	}
	return false
}

// hasChains reports whether chains hold every chain of the table and of
// network n.
func (t *table) hasChains(chains []*nftables.Chain, n Network) bool {
	for _, ch := range append([]*nftables.Chain{t.prerouting, t.output, t.hostports, t.postrouting, t.forward}, t.chainsOf(n).all()...) {
		if !t.hasChain(chains, ch.Name) {
			return false
		}
	}
	return true
}

// comment is a rule's or element's comment, which nft list shows.
func comment(s string) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, s)
}

// rule queues a rule at the end of chain.
func rule(c *nftables.Conn, chain *nftables.Chain, note string, exprs ...[]expr.Any) {
	var all []expr.Any
	for _, e := range exprs {
		all = append(all, e...)
	}
	c.AddRule(&nftables.Rule{Table: chain.Table, Chain: chain, Exprs: all, UserData: comment(note)})
}

// add queues the table with its chains, sets and rules. Every object is
// added, which is a no-op for one that exists, and every chain of this
// table is flushed and written anew, so the same batch makes the table
// whether it is missing, complete or was half deleted by hand.
func (t *table) add(c *nftables.Conn) error {
	c.AddTable(t.t)
	for _, s := range t.sets() {
		if err := c.AddSet(s, nil); err != nil {
			return err
		}
	}
	for _, ch := range []*nftables.Chain{t.prerouting, t.output, t.hostports, t.postrouting, t.forward} {
		c.AddChain(ch)
		c.FlushChain(ch)
	}
	for _, ch := range []*nftables.Chain{t.prerouting, t.output} {
		rule(c, ch, "published ports", toLocal(), []expr.Any{jump(chainHostports)})
	}
	for _, m := range t.ports {
		rule(c, t.hostports, "published ports", dnatMap(m))
	}
	rule(c, t.postrouting, "outbound NAT, by network", ifnameVmap(expr.MetaKeyIIFNAME, t.natMap))
	// Hairpin traffic goes by the output interface: where br_netfilter is
	// loaded, a DNATed packet that goes back out of the bridge it came in
	// on is bridged, and has no input interface here.
	rule(c, t.postrouting, "hairpin, by network", ifnameVmap(expr.MetaKeyOIFNAME, t.hairpin))
	rule(c, t.postrouting, "localhost to a published port", ifnameIn(expr.MetaKeyOIFNAME, t.bridges),
		nfproto(true), inPrefix(saddr, netip.MustParsePrefix("127.0.0.0/8"), expr.CmpOpEq), []expr.Any{&expr.Masq{}})
	rule(c, t.forward, "from a network", ifnameVmap(expr.MetaKeyIIFNAME, t.out))
	rule(c, t.forward, "to a network", ifnameVmap(expr.MetaKeyOIFNAME, t.in))
	return nil
}
