package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
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

func TestWriteSpec(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plugins")
	remove, err := WriteSpec(dir, Spec{Name: "demo", Addr: "tcp://127.0.0.1:9555"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "demo.spec"))
	if err != nil || string(data) != "tcp://127.0.0.1:9555\n" {
		t.Errorf("spec file holds %q, %v", data, err)
	}

	// With TLS, the .json form replaces the .spec one.
	tlsSpec := Spec{Name: "demo", Addr: "https://192.0.2.1:9555",
		TLSConfig: &SpecTLS{CAFile: "/etc/demo/ca.pem", CertFile: "/etc/demo/engine.pem", KeyFile: "/etc/demo/engine-key.pem"}}
	if remove, err = WriteSpec(dir, tlsSpec); err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(filepath.Join(dir, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The engine reads it into its plugins.Plugin: Addr, and TLSConfig as
	// go-connections' tlsconfig.Options.
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Name": "demo", "Addr": "https://192.0.2.1:9555", "TLSConfig": map[string]any{
		"InsecureSkipVerify": false, "CAFile": "/etc/demo/ca.pem",
		"CertFile": "/etc/demo/engine.pem", "KeyFile": "/etc/demo/engine-key.pem"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("demo.json holds %s, want %v", data, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("spec dir holds %v, want demo.json alone", entries)
	}
	if err := remove(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left in the spec dir: %v", entries)
	}
}

// TestSystemdListener passes a listening socket as descriptor 3 to a
// process running this test binary, as systemd does for a socket unit, and
// has the process serve it.
func TestSystemdListener(t *testing.T) {
	if os.Getenv("DOCKERPLUGIN_ACTIVATED") == "1" {
		serveActivated()
		return
	}
	sock := filepath.Join(t.TempDir(), "activated.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSystemdListener$")
	cmd.ExtraFiles = []*os.File{f} // descriptor 3 in the child
	cmd.Env = append(os.Environ(), "DOCKERPLUGIN_ACTIVATED=1", "LISTEN_FDS=1")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	resp, err := unixClient(sock).Post("http://plugin/Plugin.Activate", "", nil)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("call the activated process: %v\n%s", err, out.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != `{"Implements":["NetworkDriver"]}` {
		t.Errorf("activated process answered %s", body)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("activated process: %v\n%s", err, out.String())
	}
	if _, err := os.Lstat(sock); err != nil {
		t.Errorf("the socket systemd owns is gone: %v", err)
	}
}

// serveActivated is the process systemd would start: it serves the passed
// socket until it has answered one call, then exits.
func serveActivated() {
	// systemd sets LISTEN_PID to the pid of the process it starts, which
	// the parent cannot know before starting it.
	os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	l, err := SystemdListener()
	if err != nil || l == nil {
		fmt.Fprintf(os.Stderr, "SystemdListener = %v, %v\n", l, err)
		os.Exit(1)
	}
	ctx, stop := context.WithCancel(context.Background())
	h := NewServer(&fakeDriver{}, discard())
	once := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		stop()
	})
	if err := Serve(ctx, l, once, 10*time.Second, slog.New(slog.DiscardHandler)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if os.Getenv("LISTEN_FDS") != "" {
		fmt.Fprintln(os.Stderr, "LISTEN_FDS left in the environment")
		os.Exit(1)
	}
	os.Exit(0)
}

func TestSystemdListenerAbsent(t *testing.T) {
	t.Setenv("LISTEN_PID", "1")
	t.Setenv("LISTEN_FDS", "1")
	if l, err := SystemdListener(); l != nil || err != nil {
		t.Errorf("SystemdListener for another pid = %v, %v; want nothing", l, err)
	}
}
