package docker

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unixClient returns an HTTP client that dials the socket at path, as the
// engine does.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

// TestServeShutdown checks a SIGTERM's path: a call in flight is answered,
// Serve returns nil and the socket is gone.
func TestServeShutdown(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "plugins", "demo.sock")
	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(sock); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v, %v; want mode 0600", sock, info.Mode(), err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "{}")
	})
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, l, h, 10*time.Second, slog.New(slog.DiscardHandler)) }()

	answered := make(chan error, 1)
	go func() {
		resp, err := unixClient(sock).Post("http://plugin/NetworkDriver.Join", "", nil)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "{}" {
				err = errors.New("answer " + resp.Status + " " + string(body))
			}
		}
		answered <- err
	}()
	<-started
	stop()
	time.Sleep(100 * time.Millisecond) // let Shutdown begin while the call runs
	close(release)
	if err := <-answered; err != nil {
		t.Errorf("call in flight at shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket left after shutdown: %v", err)
	}
}

func TestListenUnixStaleAndLive(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "demo.sock")
	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnix(sock); err == nil || !strings.Contains(err.Error(), "another daemon") {
		t.Errorf("second listener on a live socket: %v, want an error", err)
	}
	// A daemon that died leaves its socket file: keep the file, close the
	// listener.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l, err = ListenUnix(sock)
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	l.Close()

	notSocket := filepath.Join(t.TempDir(), "file.sock")
	os.WriteFile(notSocket, nil, 0o600)
	if _, err := ListenUnix(notSocket); err == nil {
		t.Error("listened over a regular file")
	}
}
