package docker

// The daemon: its flags, its listener, and serving until its context ends.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"example.com/demo/internal/driver"
	"example.com/demo/internal/store"
)

// shutdownGrace is how long a stopping daemon waits for calls in flight.
const shutdownGrace = 30 * time.Second

// Main runs the daemon with the flags of the program's arguments until ctx
// is done, and returns its exit status; version is what --version prints.
func Main(ctx context.Context, version string) int {
	return run(ctx, version, os.Args[1:], os.Stderr)
}

// options are the daemon's flags.
type options struct {
	name, socket, tcp, specDir, stateDir, lockDir string
	debug, version                                bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo-docker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.name, "name", "demo", "driver name: docker network create -d NAME")
	fs.StringVar(&o.socket, "socket", "", "unix socket to serve (default "+SocketDir+"/NAME.sock)")
	fs.StringVar(&o.tcp, "tcp", "", "serve on this TCP address (127.0.0.1:9555) instead, announced by a spec file")
	fs.StringVar(&o.specDir, "spec-dir", SpecDir, "where --tcp writes NAME.spec")
	fs.StringVar(&o.stateDir, "state-dir", "/var/lib/demo-docker", "where networks and endpoints are kept")
	fs.StringVar(&o.lockDir, "lock-dir", driver.DefaultLockDir, "bridge lock files, shared with the netavark plugin")
	fs.BoolVar(&o.debug, "debug", false, "log every call")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.socket != "" && o.tcp != "" {
		return options{}, errors.New("--socket and --tcp exclude each other")
	}
	if o.socket == "" {
		o.socket = filepath.Join(SocketDir, o.name+".sock")
	}
	return o, nil
}

// run runs the daemon until ctx is done and returns its exit status.
func run(ctx context.Context, version string, args []string, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if o.version {
		fmt.Fprintln(stderr, "demo-docker", version)
		return 0
	}
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := daemon(ctx, o, version, log); err != nil {
		log.Error("exit", "err", err)
		return 1
	}
	return 0
}

func daemon(ctx context.Context, o options, version string, log *slog.Logger) error {
	st, err := store.Open(o.stateDir)
	if err != nil {
		return err
	}
	p := NewPlugin(driver.New(o.lockDir), st, log)

	l, where, cleanup, err := listen(o)
	if err != nil {
		return err
	}
	log.Info("serving", "driver", o.name, "on", where, "state", o.stateDir, "version", version)
	err = Serve(ctx, l, NewServer(p, log), shutdownGrace)
	if cerr := cleanup(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	log.Info("stopped")
	return err
}

// listen returns the listener to serve, what it is for the log, and what
// to undo after serving.
func listen(o options) (net.Listener, string, func() error, error) {
	nothing := func() error { return nil }
	if l, err := SystemdListener(); l != nil || err != nil {
		return l, "systemd socket", nothing, err
	}
	if o.tcp == "" {
		l, err := ListenUnix(o.socket)
		return l, o.socket, nothing, err
	}
	l, err := net.Listen("tcp", o.tcp)
	if err != nil {
		return nil, "", nil, err
	}
	url := "tcp://" + l.Addr().String()
	removeSpec, err := WriteSpec(o.specDir, o.name, url)
	if err != nil {
		l.Close()
		return nil, "", nil, err
	}
	return l, url, removeSpec, nil
}
