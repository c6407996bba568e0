// Command netavark-plugin-gen generates network plugins for netavark and
// podman, exports the JSON Schemas of netavark's plugin protocol, and checks
// that a plugin executable speaks it.
//
// Usage:
//
//	netavark-plugin-gen new NAME --module MODULE   generate a plugin project
//	netavark-plugin-gen upgrade [--check]           bring a project to this release's templates
//	netavark-plugin-gen schema [--out DIR]          export the JSON Schemas
//	netavark-plugin-gen check [flags] PLUGIN        check a plugin against the protocol
//	netavark-plugin-gen version                     print version information
//
// Run "netavark-plugin-gen help COMMAND" for the flags of each command.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the command line args and returns the process exit status. Errors
// go to stderr, prefixed with the program name.
func Main(args []string, stdout, stderr io.Writer) int {
	root := NewCmdRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	var status exitStatus
	switch {
	case errors.As(err, &status):
		return int(status)
	case err != nil:
		fmt.Fprintf(stderr, "netavark-plugin-gen: %v\n", err)
		return 1
	}
	return 0
}

// exitStatus is an error that ends the program with that status, the
// command having said what it had to.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }
