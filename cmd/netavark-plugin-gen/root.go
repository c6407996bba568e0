package main

import "github.com/spf13/cobra"

// NewCmdRoot returns the root command with every subcommand attached.
func NewCmdRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "netavark-plugin-gen",
		Short: "Generate network plugins for netavark and podman",
		Long: `netavark-plugin-gen generates complete network plugin projects for netavark
(podman's network backend): typed protocol messages, a dispatcher, a netlink
bridge driver, tests under real netavark, and packaging. It also exports the
JSON Schemas of the plugin protocol for plugins written in other languages.`,
		Example: `  netavark-plugin-gen new myplugin --module example.com/myplugin
  netavark-plugin-gen schema --out schemas/`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(NewCmdCheck(nil))
	root.AddCommand(NewCmdNew(nil))
	root.AddCommand(NewCmdSchema(nil))
	root.AddCommand(NewCmdUpgrade(nil))
	root.AddCommand(NewCmdVersion(nil))
	addCompletionExample(root)
	return root
}

// addCompletionExample gives cobra's completion command an example, as every
// command here has one.
func addCompletionExample(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Example = `  source <(netavark-plugin-gen completion bash)
  netavark-plugin-gen completion zsh > "${fpath[1]}/_netavark-plugin-gen"
  netavark-plugin-gen completion fish > ~/.config/fish/completions/netavark-plugin-gen.fish`
		}
	}
}
