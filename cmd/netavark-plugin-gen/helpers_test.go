package main

import (
	"io"
	"testing"

	"github.com/spf13/cobra"
)

// executeCmd runs cmd with args, its output discarded, and reports whether
// it succeeded; it fails the test when that is not what wantErr says.
func executeCmd(t *testing.T, cmd *cobra.Command, args []string, wantErr bool) bool {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	if (err != nil) != wantErr {
		t.Fatalf("error = %v, want error %v", err, wantErr)
	}
	return err == nil
}
