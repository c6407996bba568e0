package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/check"
)

// CheckOptions are the inputs of the check command.
type CheckOptions struct {
	Out    io.Writer
	Config check.Config
	// NetworkFile is the file of the network to use instead of the
	// built-in ones; "" means the built-in ones.
	NetworkFile string
	// JSON prints the report as one JSON document.
	JSON bool
}

// NewCmdCheck returns the check command. runF replaces the command's work in
// tests; nil runs checkRun.
func NewCmdCheck(runF func(context.Context, *CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{}
	cmd := &cobra.Command{
		Use:   "check [flags] PATH-TO-PLUGIN",
		Short: "Check that a plugin executable speaks netavark's plugin protocol",
		Long: `Run a conformance suite against a netavark plugin executable, written in any
language. The plugin's file name is its driver name, as in a netavark plugin
directory.

The suite runs info, create with the networks captured from podman and
netavark (or the one of --network), and requests the plugin must refuse, and
checks each answer: exactly one JSON value on stdout, closed when the plugin
exits; exit status 1 and exactly {"error":"message"} on failure; create keeps
name, id, driver and the keys it does not model.

With --netns (as root), it also creates a network on 10.213.0.0/24, sets a
container up in a scratch network namespace and tears it down, checking the
interfaces in the namespace and that no host link is left behind. With
--netavark PATH (as root), it does the same through that netavark binary.

It prints one line per case (PASS, FAIL with what was sent and what came back,
or SKIP) and a summary, and exits 0 only if no case failed.`,
		Example: `  netavark-plugin-gen check ./bin/myplugin
  sudo netavark-plugin-gen check --netns ./bin/myplugin
  sudo netavark-plugin-gen check --netavark /usr/libexec/podman/netavark ./bin/myplugin
  netavark-plugin-gen check --network mynet.json --json ./bin/myplugin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Out = cmd.OutOrStdout()
			opts.Config.Plugin = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return checkRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.JSON, "json", false, "print the report as one JSON document")
	f.StringVar(&opts.NetworkFile, "network", "", "use the network in `FILE` (JSON) for create and setup instead of the built-in ones")
	f.DurationVar(&opts.Config.Timeout, "timeout", check.DefaultTimeout, "limit for each run of the plugin (or netavark) to exit and close its stdout")
	f.BoolVar(&opts.Config.Netns, "netns", false, "also set up and tear down a container in a scratch network namespace (needs root)")
	f.StringVar(&opts.Config.Netavark, "netavark", "", "also set up and tear down through the netavark binary at `PATH` (needs root)")
	_ = cmd.MarkFlagFilename("network", "json")
	_ = cmd.MarkFlagFilename("netavark")
	return cmd
}

func checkRun(ctx context.Context, opts *CheckOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// An interrupt stops the plugin's runs, so that the scratch netns and
	// temporary files are still removed on the way out.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if opts.NetworkFile != "" {
		b, err := os.ReadFile(opts.NetworkFile)
		if err != nil {
			return fmt.Errorf("read network: %w", err)
		}
		opts.Config.Network = b
	}
	report, err := check.Run(ctx, opts.Config)
	if err != nil {
		return err
	}
	if opts.JSON {
		err = report.WriteJSON(opts.Out)
	} else {
		err = report.WriteText(opts.Out)
	}
	if err != nil {
		return err
	}
	if !report.OK() {
		return fmt.Errorf("%s: %d of %d cases failed", opts.Config.Plugin, report.Summary.Failed, len(report.Cases))
	}
	return nil
}
