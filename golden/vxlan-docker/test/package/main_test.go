package pkgtest

import (
	"fmt"
	"os"
	"regexp"
	"testing"

	"example.com/demo/internal/nstest"
)

// nfpmPkg is the nfpm that the Makefile runs, read from its NFPM_PKG.
var nfpmPkg string

func TestMain(m *testing.M) {
	makefile, err := os.ReadFile(projectDir + "/Makefile")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	match := regexp.MustCompile(`(?m)^NFPM_PKG\s*:=\s*(\S+)$`).FindSubmatch(makefile)
	if match == nil {
		fmt.Fprintln(os.Stderr, "no NFPM_PKG in the Makefile")
		os.Exit(1)
	}
	nfpmPkg = string(match[1])
	os.Exit(nstest.Main(m.Run, nfpmPkg))
}
