package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types/schema"
)

func TestNewCmdSchemaFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantDir string
		wantErr bool
	}{
		{"no flags prints the bundle", nil, "", false},
		{"out", []string{"--out", "schemas"}, "schemas", false},
		{"out with equals", []string{"--out=a/b"}, "a/b", false},
		{"short out", []string{"-o", "dir"}, "dir", false},
		{"an argument", []string{"schemas"}, "", true},
		{"unknown flag", []string{"--dir", "x"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *SchemaOptions
			cmd := NewCmdSchema(func(o *SchemaOptions) error {
				got = o
				return nil
			})
			if !executeCmd(t, cmd, tt.args, tt.wantErr) {
				return
			}
			if got == nil {
				t.Fatal("runF not called")
			}
			if got.Dir != tt.wantDir {
				t.Errorf("Dir = %q, want %q", got.Dir, tt.wantDir)
			}
			if got.Out == nil {
				t.Error("Out not set")
			}
		})
	}
}

func TestSchemaRun(t *testing.T) {
	files, err := schema.Files()
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := schema.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// dir returns the --out directory, "" for none, given a temporary
		// directory.
		dir     func(tmp string) string
		wantOut []byte
		wantErr string
	}{
		{"bundle to stdout", func(string) string { return "" }, bundle, ""},
		{"existing directory", func(tmp string) string { return tmp }, nil, ""},
		{"missing directories are created", func(tmp string) string { return filepath.Join(tmp, "a", "b") }, nil, ""},
		{"existing files are replaced", func(tmp string) string {
			if err := os.WriteFile(filepath.Join(tmp, "network.schema.json"), []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			return tmp
		}, nil, ""},
		{"out is a file", func(tmp string) string {
			p := filepath.Join(tmp, "file")
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, nil, "exists and is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t.TempDir())
			var out bytes.Buffer
			err := schemaRun(&SchemaOptions{Out: &out, Dir: dir})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), tt.wantOut) {
				t.Errorf("stdout = %.200q, want %.200q", out.Bytes(), tt.wantOut)
			}
			if dir == "" {
				return
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
				info, err := e.Info()
				if err != nil {
					t.Fatal(err)
				}
				if info.Mode().Perm() != 0o644 {
					t.Errorf("%s has mode %v, want 0644", e.Name(), info.Mode().Perm())
				}
			}
			var want []string
			for name := range files {
				want = append(want, name)
			}
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Fatalf("files %v, want %v (no temporary file left)", names, want)
			}
			for name, data := range files {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Errorf("%s differs from schema.Files", name)
				}
			}
		})
	}
}
