// Command no-mac breaks one rule: the interfaces of its setup answer have no
// mac_address key.
package main

import (
	"encoding/json"
	"os"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/check/testdata/plugins/internal/minimal"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

func main() {
	p := minimal.New()
	p.Setup = func(path string, req types.NetworkPluginExec) (any, error) {
		status, err := minimal.Setup(path, req)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(status)
		if err != nil {
			return nil, err
		}
		var m struct {
			Interfaces map[string]map[string]json.RawMessage `json:"interfaces"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		for _, iface := range m.Interfaces {
			delete(iface, "mac_address")
		}
		return m, nil
	}
	os.Exit(p.Main())
}
