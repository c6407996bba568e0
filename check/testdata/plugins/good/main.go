// Command good is a minimal netavark plugin that follows the protocol:
// check passes it.
package main

import (
	"os"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/check/testdata/plugins/internal/minimal"
)

func main() {
	os.Exit(minimal.New().Main())
}
