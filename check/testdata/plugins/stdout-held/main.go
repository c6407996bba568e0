// Command stdout-held breaks one rule: info leaves a background process
// that holds stdout open after the plugin exits, so netavark, which reads
// stdout to its end, would wait forever.
package main

import (
	"os"
	"os/exec"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/check/testdata/plugins/internal/minimal"
)

func main() {
	p := minimal.New()
	info := p.Info
	p.Info = func() any {
		sleep := exec.Command("sleep", "60")
		sleep.Stdout = os.Stdout
		_ = sleep.Start()
		return info()
	}
	os.Exit(p.Main())
}
