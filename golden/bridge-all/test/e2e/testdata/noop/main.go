// Command noop is a netavark plugin that does nothing but answer: the
// benchmark's floor, the cost of netavark exec'ing a plugin.
package main

import (
	"io"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "create" {
		_, _ = io.Copy(os.Stdout, os.Stdin)
		return
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	_, _ = os.Stdout.WriteString("{}\n")
}
