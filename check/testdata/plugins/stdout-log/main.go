// Command stdout-log breaks one rule: it logs to stdout, where only the
// answer may go.
package main

import (
	"fmt"
	"os"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/check/testdata/plugins/internal/minimal"
)

func main() {
	fmt.Println("stdout-log: starting")
	os.Exit(minimal.New().Main())
}
