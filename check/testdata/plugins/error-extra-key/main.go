// Command error-extra-key breaks one rule: its error object has a key other
// than "error", which podman refuses.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/check/testdata/plugins/internal/minimal"
)

func main() {
	p := minimal.New()
	p.Fail = func(w io.Writer, msg string) int {
		b, _ := json.Marshal(map[string]any{"error": msg, "code": 1})
		fmt.Fprintf(w, "%s\n", b)
		return 1
	}
	os.Exit(p.Main())
}
