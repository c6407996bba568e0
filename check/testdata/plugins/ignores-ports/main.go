// Command ignores-ports takes port mappings and publishes nothing: a
// client outside the host that connects to the port gets no answer. check
// fails it at ports/reachable.
package main

import (
	"os"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/check/testdata/plugins/internal/minimal"
)

func main() {
	p := minimal.New()
	p.Setup = minimal.SetupVeth
	os.Exit(p.Main())
}
