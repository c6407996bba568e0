package schema

import (
	"fmt"
	"strings"
)

// The patterns below are regular expressions in the common subset of
// ECMA-262 (what JSON Schema specifies, and what ajv runs) and RE2 (what Go
// validators run). They accept what netavark accepts: a MAC address is six
// colon-separated hex pairs, and an ipnet is an address with a prefix length
// that fits its family, without leading zeros and without an IPv6 zone, as
// net/netip parses it.

const (
	hexPair = `[0-9A-Fa-f]{2}`
	// mac is a 48-bit MAC address, "aa:bb:cc:dd:ee:ff".
	mac = hexPair + `(?::` + hexPair + `){5}`
	// octet is a decimal byte without leading zeros.
	octet = `(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])`
	// ipv4 is a dotted-quad IPv4 address.
	ipv4 = octet + `(?:\.` + octet + `){3}`
	// hextet is one group of an IPv6 address.
	hextet = `[0-9A-Fa-f]{1,4}`
	// ipv4Bits and ipv6Bits are prefix lengths without leading zeros.
	ipv4Bits = `(?:3[0-2]|[12]?[0-9])`
	ipv6Bits = `(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])`
)

var (
	// macPattern matches a MAC address.
	macPattern = `^` + mac + `$`
	// ipNetPattern matches "address/prefix-length" for IPv4 and IPv6.
	ipNetPattern = `^(?:` + ipv4 + `/` + ipv4Bits + `|(?:` + ipv6() + `)/` + ipv6Bits + `)$`
)

// groups returns a regular expression for n colon-separated hextets.
func groups(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return hextet
	case 2:
		return hextet + ":" + hextet
	}
	return fmt.Sprintf("%s(?::%s){%d}", hextet, hextet, n-1)
}

// upTo returns a regular expression for 0 to n colon-separated hextets.
func upTo(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "(?:" + hextet + ")?"
	}
	return fmt.Sprintf("(?:%s(?::%s){0,%d})?", hextet, hextet, n-1)
}

// ipv6 returns a regular expression for an IPv6 address in any of its text
// forms: eight hextets, or fewer with one "::" that stands for at least one
// zero hextet, optionally ending in an IPv4 address that takes the place of
// the last two hextets.
func ipv6() string {
	alts := []string{
		groups(8),
		fmt.Sprintf("(?:%s:){6}%s", hextet, ipv4),
	}
	for left := 0; left <= 7; left++ {
		alts = append(alts, groups(left)+"::"+upTo(7-left))
	}
	for left := 0; left <= 5; left++ {
		right := ""
		if n := 5 - left; n > 0 {
			right = fmt.Sprintf("(?:%s:){0,%d}", hextet, n)
		}
		alts = append(alts, groups(left)+"::"+right+ipv4)
	}
	return strings.Join(alts, "|")
}
