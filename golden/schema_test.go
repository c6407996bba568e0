package golden

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types/schema"
)

// TestSchemaFresh checks that golden/schema holds exactly the JSON Schemas
// that package schema generates from the types today.
func TestSchemaFresh(t *testing.T) {
	files, err := schema.Files()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := schemaDrift(files, "schema")
	if err != nil {
		t.Fatalf("golden/schema is stale: run make golden (%v)", err)
	}
	if len(problems) > 0 {
		t.Errorf("golden/schema is stale: run make golden\n%s", strings.Join(problems, "\n"))
	}
}

// schemaDrift compares directory dir with the files want (name to content)
// and describes each missing, unexpected and different file.
func schemaDrift(want map[string][]byte, dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var problems []string
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		name := e.Name()
		seen[name] = true
		w, ok := want[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("golden/%s/%s is not generated any more", dir, name))
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(got, w) {
			problems = append(problems, fmt.Sprintf("golden/%s/%s differs from the generated file", dir, name))
		}
	}
	for name := range want {
		if !seen[name] {
			problems = append(problems, fmt.Sprintf("golden/%s/%s is missing", dir, name))
		}
	}
	slices.Sort(problems)
	return problems, nil
}

// TestSchemaDrift checks that schemaDrift reports missing, unexpected and
// different files, so that TestSchemaFresh can fail.
func TestSchemaDrift(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"same.json": "{}\n", "changed.json": "{}\n", "extra.json": "{}\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]byte{
		"same.json":    []byte("{}\n"),
		"changed.json": []byte("{\"a\":1}\n"),
		"missing.json": []byte("{}\n"),
	}
	got, err := schemaDrift(want, dir)
	if err != nil {
		t.Fatal(err)
	}
	wantProblems := []string{
		"golden/" + dir + "/changed.json differs from the generated file",
		"golden/" + dir + "/extra.json is not generated any more",
		"golden/" + dir + "/missing.json is missing",
	}
	if !slices.Equal(got, wantProblems) {
		t.Errorf("drift:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantProblems, "\n"))
	}
	if _, err := schemaDrift(want, filepath.Join(dir, "absent")); err == nil {
		t.Error("no error for a missing directory")
	}
}
