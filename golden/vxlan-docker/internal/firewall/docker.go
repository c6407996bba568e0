package firewall

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// Docker, when it turns IP forwarding on itself, sets the policy of the
// iptables FORWARD chain to drop: its table ip filter (ip6 filter too with
// ip6tables), which no accept in this table can override, since each table
// decides on its own and a drop anywhere is final. Its users' way around it
// is the chain it keeps for them and never flushes, DOCKER-USER, which
// FORWARD jumps to first. Where it exists, each network gets two rules
// there, ahead of Docker's own, that accept what comes from or goes to its
// bridge: the network's own chains in this table still drop what
// isolation and internal networks forbid. They carry a comment naming the
// network, go with it, and are written in the native expressions that
// iptables-nft reads back as -i BRIDGE -j ACCEPT and -o BRIDGE -j ACCEPT.

// Docker's filter table and the chain it keeps for its users.
const (
	dockerFilterTable = "filter"
	dockerUserChain   = "DOCKER-USER"
)

// dockerUserChains returns the DOCKER-USER chains of the IPv4 and IPv6
// filter tables among chains.
func dockerUserChains(chains []*nftables.Chain) []*nftables.Chain {
	var out []*nftables.Chain
	for _, ch := range chains {
		fam := ch.Table.Family
		if (fam == nftables.TableFamilyIPv4 || fam == nftables.TableFamilyIPv6) &&
			ch.Table.Name == dockerFilterTable && ch.Name == dockerUserChain {
			out = append(out, ch)
		}
	}
	return out
}

// dockerUserComment tags the DOCKER-USER rules of a network.
func (t *table) dockerUserComment(n Network) string {
	return fmt.Sprintf("%s: network %s (bridge %s)", t.t.Name, n.Name, n.Bridge)
}

// ownDockerUserRules returns the rules of chain that carry comment.
func ownDockerUserRules(conn *nftables.Conn, chain *nftables.Chain, comment string) ([]*nftables.Rule, error) {
	rules, err := conn.GetRules(chain.Table, chain)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dockerUserChain, err)
	}
	var own []*nftables.Rule
	for _, r := range rules {
		if c, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok && c == comment {
			own = append(own, r)
		}
	}
	return own, nil
}

// addDockerUser queues n's accept rules in each DOCKER-USER chain of
// chains, the kernel's, that lacks them. An internal network forwards
// nothing, and gets none.
func (t *table) addDockerUser(conn *nftables.Conn, n Network, chains []*nftables.Chain) error {
	if n.Internal {
		return nil
	}
	note := t.dockerUserComment(n)
	for _, ch := range dockerUserChains(chains) {
		own, err := ownDockerUserRules(conn, ch, note)
		if err != nil || len(own) > 0 {
			return err
		}
		// Inserted at the top, ahead of Docker's RETURN: the second
		// ends up first.
		for _, key := range []expr.MetaKey{expr.MetaKeyOIFNAME, expr.MetaKeyIIFNAME} {
			conn.InsertRule(&nftables.Rule{Table: ch.Table, Chain: ch, UserData: comment(note),
				Exprs: append(ifname(key, n.Bridge, expr.CmpOpEq), verdict(expr.VerdictAccept))})
		}
	}
	return nil
}

// removeDockerUser queues the deletion of n's rules in the DOCKER-USER
// chains of chains.
func (t *table) removeDockerUser(conn *nftables.Conn, n Network, chains []*nftables.Chain) error {
	for _, ch := range dockerUserChains(chains) {
		own, err := ownDockerUserRules(conn, ch, t.dockerUserComment(n))
		if err != nil {
			return err
		}
		for _, r := range own {
			if err := conn.DelRule(r); err != nil {
				return err
			}
		}
	}
	return nil
}
