package main

import (
	"fmt"
	"io"
	"io/fs"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/generator"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/manifest"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/templates"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/types"
)

// version and commit can be set at link time (-ldflags "-X main.version=...
// -X main.commit=..."), as a packager may; otherwise they come from the
// build information: the module version (a release, or the Go toolchain's
// pseudo-version of the commit of a checkout) and the VCS revision.
var (
	version = ""
	commit  = ""
)

// VersionOptions holds what the version command prints to.
type VersionOptions struct {
	Out io.Writer
}

// NewCmdVersion returns the version command. runF replaces the command's work
// in tests; nil runs versionRun.
func NewCmdVersion(runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{}
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit and netavark plugin API version",
		Example: "  netavark-plugin-gen version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out = cmd.OutOrStdout()
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
}

func versionRun(opts *VersionOptions) error {
	v, c := buildVersion()
	_, err := fmt.Fprintf(opts.Out, "netavark-plugin-gen %s\ncommit: %s\nnetavark plugin API: %s\n", v, c, types.APIVersion)
	return err
}

// templateFS holds the project templates that new renders: the embedded
// ones, which the tests replace to stand for another release.
var templateFS fs.FS = templates.FS

// release identifies this binary in the manifests of the projects it
// generates.
func release() manifest.Release {
	v, c := buildVersion()
	if c == unknownCommit {
		c = ""
	}
	return manifest.Release{Module: generator.Module, Version: v, Commit: c}
}

// unknownCommit is what buildVersion says when no commit is known.
const unknownCommit = "unknown"

// buildVersion returns the version and commit of this binary: the link-time
// values, else the module version and VCS revision recorded by go build.
func buildVersion() (v, c string) {
	v, c = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if c == "" {
		c = unknownCommit
	}
	return v, c
}
