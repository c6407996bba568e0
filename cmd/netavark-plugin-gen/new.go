package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/generator"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/manifest"
)

// NewOptions are the inputs of the new command.
type NewOptions struct {
	Out    io.Writer
	Config generator.Config
	// Dir is where the project goes; "" means ./NAME.
	Dir    string
	Force  bool
	DryRun bool
}

// NewCmdNew returns the new command. runF replaces the command's work in
// tests; nil runs newRun.
func NewCmdNew(runF func(*NewOptions) error) *cobra.Command {
	opts := &NewOptions{}
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Generate a netavark plugin project",
		Long: `Generate a complete netavark network plugin project named NAME in ./NAME
(or --dir). NAME is the plugin's executable and driver name, as in
"podman network create -d NAME". The target directory must not exist or be
empty, unless --force is given; with --force, generated files replace their
old copies and other files are kept.`,
		Example: `  netavark-plugin-gen new myplugin --module example.com/myplugin
  netavark-plugin-gen new myplugin --module github.com/me/myplugin --dir src/myplugin
  netavark-plugin-gen new myplugin --runtimes netavark,docker
  netavark-plugin-gen new myplugin --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Out = cmd.OutOrStdout()
			opts.Config.Name = args[0]
			opts.Config.Release = release()
			opts.Config.Templates = templateFS
			if opts.Config.Module == "" {
				opts.Config.Module = "example.com/" + args[0]
			}
			if opts.Dir == "" {
				opts.Dir = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return newRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Config.Module, "module", "", "Go module path of the project (default example.com/NAME)")
	f.StringVar(&opts.Dir, "dir", "", "directory to write the project into (default ./NAME)")
	f.StringVar(&opts.Config.Template, "template", generator.DefaultTemplate, "project template: "+strings.Join(generator.Templates(), " or ")+" (see the README)")
	f.StringSliceVar(&opts.Config.Runtimes, "runtimes", nil,
		"front ends over the driver core, comma-separated: netavark (always), docker, cni (default netavark)")
	f.BoolVar(&opts.Force, "force", false, "write into a non-empty directory, replacing generated files")
	f.BoolVar(&opts.DryRun, "dry-run", false, "list the files that would be written, write nothing")
	_ = cmd.RegisterFlagCompletionFunc("template", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return generator.Templates(), cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.MarkFlagDirname("dir")
	_ = cmd.RegisterFlagCompletionFunc("runtimes", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{generator.RuntimeNetavark, generator.RuntimeDocker, generator.RuntimeCNI}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func newRun(opts *NewOptions) error {
	files, err := generator.Render(opts.Config)
	if err != nil {
		return err
	}
	if opts.DryRun {
		fmt.Fprintf(opts.Out, "would write %d files into %s:\n", len(files), opts.Dir)
		for _, f := range files {
			fmt.Fprintf(opts.Out, "  %s\n", f.Path)
		}
		return nil
	}
	mode := generator.New
	if opts.Force {
		mode = generator.Over
		if err := forceable(opts.Out, opts.Dir, files); err != nil {
			return err
		}
	}
	if err := generator.Write(opts.Dir, files, mode); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "created %s: netavark plugin %q, module %s, %d files\n", opts.Dir, opts.Config.Name, opts.Config.Module, len(files))
	fmt.Fprintf(opts.Out, "wrote %s: it records how the project was generated, for upgrade; keep it in version control\n\nnext:\n",
		manifest.FileName)
	if opts.Config.Template == generator.VXLANTemplate {
		fmt.Fprintf(opts.Out, "  cd %s\n  make build\n  sudo make install\n"+
			"and on every host, the configuration (where etcd is, the host's VTEP address) and the agent:\n"+
			"see \"Set up a cluster\" in %s\n", filepath.Clean(opts.Dir), filepath.Join(filepath.Clean(opts.Dir), "README.md"))
		if slices.Contains(opts.Config.Runtimes, generator.RuntimeDocker) {
			fmt.Fprintf(opts.Out, "for a Docker swarm, on every host: make docker-plugin, docker plugin enable %s:latest (\"Use it with Docker\" there)\n", opts.Config.Name)
		}
		return nil
	}
	for _, c := range nextCommands(filepath.Clean(opts.Dir), opts.Config.Name) {
		fmt.Fprintf(opts.Out, "  %s\n", c)
	}
	return nil
}

// forceable checks that new --force may write files into dir: with a
// manifest there, no file it would replace may differ from what the manifest
// says was generated; without one, it says that it replaces them all.
func forceable(out io.Writer, dir string, files generator.FileSet) error {
	m, err := manifest.Read(dir)
	if errors.Is(err, manifest.ErrNotFound) {
		fmt.Fprintf(out, "%s has no %s: replacing every generated file, edited or not\n", dir, manifest.FileName)
		return nil
	}
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for _, f := range files {
		if f.Path != manifest.FileName {
			paths = append(paths, f.Path)
		}
	}
	edited, err := m.Edited(dir, paths)
	if err != nil || len(edited) == 0 {
		return err
	}
	return fmt.Errorf("--force would replace files that differ from what was generated:\n  %s\nrun netavark-plugin-gen upgrade in %s to merge the templates into them",
		strings.Join(edited, "\n  "), dir)
}

// nextCommands are the README's quickstart after `new`, for a project in dir
// whose driver is name. TestQuickstart compares them with the README.
func nextCommands(dir, name string) []string {
	network := name + "net"
	return []string{
		"cd " + dir,
		"make build",
		"sudo make install",
		"podman network create -d " + name + " --subnet 10.77.0.0/24 " + network,
		"podman run --rm --network " + network + " alpine ip addr show eth0",
	}
}
