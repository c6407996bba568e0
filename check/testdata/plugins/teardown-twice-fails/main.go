// Command teardown-twice-fails breaks one rule: a teardown with nothing
// left to remove fails, so a second teardown fails.
package main

import (
	"os"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/check/testdata/plugins/internal/minimal"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

func main() {
	p := minimal.New()
	p.Teardown = func(path string, req types.NetworkPluginExec) error {
		if _, err := os.Stat(path); err != nil {
			return nil // a netns that does not exist is still tolerated
		}
		return minimal.RemoveVeth(path, req.NetworkOptions.InterfaceName)
	}
	os.Exit(p.Main())
}
