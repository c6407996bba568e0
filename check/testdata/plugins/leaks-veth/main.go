// Command leaks-veth breaks one rule: setup also creates a veth pair in the
// host's netns, named cklk-* and cklp-*, that teardown never removes.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/vishvananda/netlink"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/check/testdata/plugins/internal/minimal"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// LeakPrefix starts the names of the links it leaks.
const LeakPrefix = "cklk-"

func main() {
	p := minimal.New()
	p.Setup = func(path string, req types.NetworkPluginExec) (any, error) {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: LeakPrefix + id}, PeerName: "cklp-" + id}
		if err := netlink.LinkAdd(veth); err != nil {
			return nil, fmt.Errorf("add host veth: %w", err)
		}
		return minimal.Setup(path, req)
	}
	os.Exit(p.Main())
}
