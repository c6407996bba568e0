package check

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeScript writes an executable shell script named name into a new
// directory and returns its path: a plugin in another language than Go.
func writeScript(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// refuser answers info and refuses everything else correctly.
const refuser = `case "$1" in
info|"") echo '{"version":"1","api_version":"1.0.0"}' ;;
*) echo '{"error":"not supported"}'; exit 1 ;;
esac
`

// TestRefusesEveryNetwork checks that refusing a network is a skip, with
// the plugin's message, and refusing all of them a failure.
func TestRefusesEveryNetwork(t *testing.T) {
	r := mustRun(t, Config{Plugin: writeScript(t, "refuser", refuser)})
	for _, c := range r.Cases {
		want := Pass
		switch {
		case c.Name == "create":
			want = Fail
		case strings.HasPrefix(c.Name, "create/"):
			want = Skip
			if !strings.Contains(c.Reason, "not supported") {
				t.Errorf("%s: reason %q lacks the plugin's message", c.Name, c.Reason)
			}
		}
		if c.Status != want {
			t.Errorf("%s: %s %s, want %s", c.Name, c.Status, c.Reason, want)
		}
	}
}

// TestNetworkFlag checks that the user's network replaces the fixtures,
// with the plugin's driver.
func TestNetworkFlag(t *testing.T) {
	echo := writeScript(t, "echo", `case "$1" in
create) cat ;;
*) echo '{"version":"1","api_version":"1.0.0"}' ;;
esac
`)
	network := `{"name":"mine","id":"42","driver":"whatever","dns_enabled":false,"internal":true,"ipv6_enabled":false,"mine":[1]}`
	r := mustRun(t, Config{Plugin: echo, Network: []byte(network)})
	var creates []Case
	for _, c := range r.Cases {
		if strings.HasPrefix(c.Name, "create") {
			creates = append(creates, c)
		}
	}
	if len(creates) != 2 || creates[0].Name != "create/network" || creates[0].Status != Pass || creates[1].Status != Pass {
		logReport(t, r)
		t.Fatalf("create cases %+v", creates)
	}
	if in := creates[0].Sent.Stdin; !strings.Contains(in, `"driver":"echo"`) || !strings.Contains(in, `"mine":[1]`) || !strings.Contains(in, unknownKey) {
		t.Errorf("sent %s", in)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain")
	if err := os.WriteFile(notExec, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good := writeScript(t, "ok", refuser)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"missing", Config{Plugin: filepath.Join(dir, "nope")}, "no such file"},
		{"directory", Config{Plugin: dir}, "not an executable regular file"},
		{"not executable", Config{Plugin: notExec}, "not an executable regular file"},
		{"network not an object", Config{Plugin: good, Network: []byte(`[1]`)}, "not a JSON object"},
		{"network not JSON", Config{Plugin: good, Network: []byte(`{`)}, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(t.Context(), tt.cfg)
			checkErr(t, err, tt.wantErr)
		})
	}
}

// TestRunInterrupted checks that an ended context stops the suite with a
// failure.
func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r, err := Run(ctx, Config{Plugin: writeScript(t, "p", refuser)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Cases) != 1 || r.Cases[0].Name != "interrupted" || r.OK() {
		t.Errorf("cases %+v", r.Cases)
	}
}
