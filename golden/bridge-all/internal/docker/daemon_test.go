package docker

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    options
		wantErr string
	}{
		{
			args: nil,
			want: options{name: "demo", socket: "/run/docker/plugins/demo.sock", specDir: "/etc/docker/plugins",
				stateDir: "/var/lib/demo-docker", lockDir: "/run/demo"},
		},
		{
			args: []string{"--name", "other", "--state-dir", "/s", "--lock-dir", "/l", "--debug"},
			want: options{name: "other", socket: "/run/docker/plugins/other.sock", specDir: "/etc/docker/plugins",
				stateDir: "/s", lockDir: "/l", debug: true},
		},
		{
			args: []string{"--socket", "/x/y.sock"},
			want: options{name: "demo", socket: "/x/y.sock", specDir: "/etc/docker/plugins",
				stateDir: "/var/lib/demo-docker", lockDir: "/run/demo"},
		},
		{args: []string{"--socket", "/x.sock", "--tcp", "127.0.0.1:9555"}, wantErr: "exclude each other"},
		{args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
		{args: []string{"--nope"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, err := parseFlags(tt.args, io.Discard)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one mentioning %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("unexpected error %v", err)
			case got != tt.want:
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestRunTCP runs the daemon on TCP: it announces itself with a spec file,
// answers the engine's handshake there, and removes the file when stopped.
func TestRunTCP(t *testing.T) {
	dir := t.TempDir()
	specDir := filepath.Join(dir, "plugins")
	ctx, stop := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, "test", []string{"--name", "tcptest", "--tcp", "127.0.0.1:0", "--spec-dir", specDir,
			"--state-dir", filepath.Join(dir, "state"), "--lock-dir", filepath.Join(dir, "lock")}, io.Discard)
	}()
	spec := filepath.Join(specDir, "tcptest.spec")
	var url []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if url, err = os.ReadFile(spec); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no spec file %s: %v", spec, err)
		}
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(string(url)), "tcp://")
	if !ok {
		t.Fatalf("spec file holds %q, want tcp://ADDR", url)
	}
	resp, err := http.Post("http://"+addr+"/Plugin.Activate", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"Implements":["NetworkDriver"]}` {
		t.Errorf("Plugin.Activate: %s %s", resp.Status, body)
	}
	stop()
	if code := <-exit; code != 0 {
		t.Errorf("exit status %d after stop, want 0", code)
	}
	if _, err := os.Stat(spec); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("spec file left after stop: %v", err)
	}
}
