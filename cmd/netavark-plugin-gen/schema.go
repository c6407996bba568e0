package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/generator"
	"github.com/netavark-plugin-gen/netavark-plugin-gen/types/schema"
)

// SchemaOptions holds the flags of the schema command and where it prints.
type SchemaOptions struct {
	Out io.Writer
	// Dir is the directory to write the schema files to; empty prints the
	// bundle to Out.
	Dir string
}

// NewCmdSchema returns the schema command. runF replaces the command's work
// in tests; nil runs schemaRun.
func NewCmdSchema(runF func(*SchemaOptions) error) *cobra.Command {
	opts := &SchemaOptions{}
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Export the JSON Schemas of the netavark plugin protocol",
		Long: `Export the JSON Schemas (draft 2020-12) of the messages of netavark's plugin
protocol, for plugins written in other languages.

With --out, write one file per message to DIR, creating DIR if needed:

  network.schema.json              create input and output
  network-plugin-exec.schema.json  setup and teardown input
  status-block.schema.json         setup output
  info.schema.json                 info output
  error.schema.json                output of a failed subcommand
  netavark-input.schema.json       netavark's own setup input

Without --out, print one JSON Schema document holding them all under $defs,
keyed by file name.`,
		Example: `  netavark-plugin-gen schema --out schemas/
  netavark-plugin-gen schema > netavark-plugin.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out = cmd.OutOrStdout()
			if runF != nil {
				return runF(opts)
			}
			return schemaRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Dir, "out", "o", "", "write the schema files to `DIR` instead of printing the bundle")
	return cmd
}

func schemaRun(opts *SchemaOptions) error {
	if opts.Dir == "" {
		b, err := schema.Bundle()
		if err != nil {
			return err
		}
		_, err = opts.Out.Write(b)
		return err
	}
	files, err := generator.Schemas()
	if err != nil {
		return err
	}
	return generator.Write(opts.Dir, files, generator.Over)
}
