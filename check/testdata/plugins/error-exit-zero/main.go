// Command error-exit-zero breaks one rule: it exits 0 after printing an
// error.
package main

import (
	"io"
	"os"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/check/testdata/plugins/internal/minimal"
)

func main() {
	p := minimal.New()
	p.Fail = func(w io.Writer, msg string) int {
		minimal.Fail(w, msg)
		return 0
	}
	os.Exit(p.Main())
}
