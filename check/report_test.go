package check

import (
	"encoding/json"
	"strings"
	"testing"
)

func testReport() *Report {
	r := &Report{Plugin: "bin/p", Driver: "p"}
	r.add(Case{Name: "info", Status: Pass})
	r.add(Case{
		Name: "error/bad-json", Status: Fail, Reason: "exit status 0",
		Sent: &Sent{Argv: []string{"bin/p", "create", "it's"}, Stdin: `{"name":`},
		Got:  &Got{ExitStatus: 0, Stdout: strings.Repeat("x", textLimit+10)},
	})
	r.add(Case{Name: "netns", Status: Skip, Reason: "needs root"})
	return r
}

func TestWriteText(t *testing.T) {
	var b strings.Builder
	if err := testReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `PASS info
FAIL error/bad-json: exit status 0
    sent: argv: bin/p create 'it'\''s'
          stdin: "{\"name\":"
    got:  exit status 0
          stdout: "` + strings.Repeat("x", textLimit) + `[... 10 more bytes]"
          stderr: (empty)
SKIP netns: needs root
1 passed, 1 failed, 1 skipped
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteJSON(t *testing.T) {
	var b strings.Builder
	if err := testReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Plugin string `json:"plugin"`
		Driver string `json:"driver"`
		Cases  []struct {
			Name   string          `json:"name"`
			Status string          `json:"status"`
			Reason string          `json:"reason"`
			Sent   json.RawMessage `json:"sent"`
			Got    json.RawMessage `json:"got"`
		} `json:"cases"`
		Summary map[string]int `json:"summary"`
	}
	dec := json.NewDecoder(strings.NewReader(b.String()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode the report: %v\n%s", err, b.String())
	}
	if got.Plugin != "bin/p" || got.Driver != "p" || len(got.Cases) != 3 || got.Cases[1].Status != "fail" || got.Cases[1].Sent == nil || got.Cases[1].Got == nil {
		t.Errorf("report %s", b.String())
	}
	if got.Summary["passed"] != 1 || got.Summary["failed"] != 1 || got.Summary["skipped"] != 1 {
		t.Errorf("summary %v", got.Summary)
	}
}
