// Command create-renames breaks one rule: create changes the network's name.
package main

import (
	"encoding/json"
	"os"
	"strings"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/check/testdata/plugins/internal/minimal"
)

func main() {
	p := minimal.New()
	p.Create = func(network map[string]json.RawMessage) (any, error) {
		var name string
		_ = json.Unmarshal(network["name"], &name)
		network["name"], _ = json.Marshal(strings.ToUpper(name) + "-renamed")
		return minimal.Create(network)
	}
	os.Exit(p.Main())
}
