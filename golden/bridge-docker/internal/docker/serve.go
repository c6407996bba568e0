package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Where the engine looks for plugins.
const (
	// SocketDir holds the plugins' unix sockets, NAME.sock.
	SocketDir = "/run/docker/plugins"
	// SpecDir holds spec files, NAME.spec or NAME.json, that give a
	// plugin's URL.
	SpecDir = "/etc/docker/plugins"
)

// Serve answers calls on l with h until ctx is done, and logs to log what
// it cannot answer. It then stops
// accepting, lets the calls in flight finish for up to grace, and closes l,
// which removes the socket file of a listener made by ListenUnix. It returns
// nil after such a shutdown.
func Serve(ctx context.Context, l net.Listener, h http.Handler, grace time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler: h,
		// What the server cannot answer, a refused TLS handshake among
		// them, goes to the daemon's log.
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ReadHeaderTimeout: 10 * time.Second,
		// Join and Leave take milliseconds; a driver call stuck on a lock
		// for this long is better failed than left hanging in the engine.
		WriteTimeout: 2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

// ListenUnix listens on the unix socket at path, creating its directory. A
// socket file that nobody answers on, left by a daemon that died, is
// replaced; one that another daemon still serves is an error. The socket is
// removed when the listener is closed.
func ListenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	if info, err := os.Lstat(path); err == nil {
		if info.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("listen on %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen on %s: another daemon is serving it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	// Only root talks to the driver: the engine, and whoever may change
	// the host's network anyway.
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("restrict %s: %w", path, err)
	}
	return l, nil
}

// Spec is a spec file: where the engine finds a plugin that is not on a
// unix socket of SocketDir. Without TLSConfig it is written as NAME.spec,
// which holds the URL alone (tcp://127.0.0.1:9555); with it, as NAME.json,
// the form that the engine reads TLS settings from.
type Spec struct {
	Name string
	// Addr is the plugin's URL: tcp://HOST:PORT, or https://HOST:PORT with
	// TLSConfig (the engine speaks TLS for https only).
	Addr      string
	TLSConfig *SpecTLS `json:",omitempty"`
}

// SpecTLS is the TLS configuration of a spec file, with the field names of
// the engine's (go-connections tlsconfig.Options). The engine skips the
// verification of the plugin's certificate when CAFile is empty, so it is
// always set.
type SpecTLS struct {
	InsecureSkipVerify bool
	// CAFile verifies the plugin's certificate.
	CAFile string
	// CertFile and KeyFile are the engine's client certificate and key.
	CertFile, KeyFile string
}

// WriteSpec writes the spec file of s into dir, removes one of the other
// form that an earlier daemon left, and returns the function that removes
// the file.
func WriteSpec(dir string, s Spec) (remove func() error, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create spec directory: %w", err)
	}
	ext, other, data := ".spec", ".json", []byte(s.Addr+"\n")
	if s.TLSConfig != nil {
		ext, other = ".json", ".spec"
		if data, err = json.MarshalIndent(s, "", "  "); err != nil {
			return nil, err
		}
		data = append(data, '\n')
	}
	path := filepath.Join(dir, s.Name+ext)
	if err := os.Remove(filepath.Join(dir, s.Name+other)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove stale spec file: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return nil, fmt.Errorf("write spec file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("write spec file: %w", err)
	}
	return func() error {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}, nil
}

// SystemdListener returns the socket that systemd passed to the process
// (socket activation: LISTEN_PID and LISTEN_FDS), or nil if there is none.
// systemd owns that socket: closing the listener leaves its file in place.
func SystemdListener() (net.Listener, error) {
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	if err != nil || pid != os.Getpid() {
		return nil, nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 1 {
		return nil, nil
	}
	if n > 1 {
		return nil, fmt.Errorf("systemd passed %d sockets, want one", n)
	}
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	// The first passed descriptor is 3 (SD_LISTEN_FDS_START).
	f := os.NewFile(3, "systemd socket")
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("use the socket systemd passed: %w", err)
	}
	return l, nil
}
