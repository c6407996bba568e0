// Command demo-docker is the Docker remote network driver of demo: a
// daemon that serves the engine's NetworkDriver API, by default on
//
//	/run/docker/plugins/demo.sock
//
// where the engine finds it for every network of driver "demo"
// (docker network create -d demo). It attaches containers to a Linux
// bridge with the same driver core as the netavark plugin demo, and keeps
// its networks and endpoints in --state-dir so that it can be restarted
// while containers run.
//
// Usage:
//
//	demo-docker [--name NAME] [--socket PATH | --tcp ADDR [--spec-dir DIR]]
//	           [--state-dir DIR] [--lock-dir DIR] [--debug]
//
// With --tcp the daemon listens on ADDR and writes DIR/NAME.spec, which
// points the engine at it. Under systemd socket activation it serves the
// socket it is given. SIGTERM or SIGINT stop it once the calls in flight
// are answered.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"example.com/demo/internal/bridge"
	"example.com/demo/internal/dockerplugin"
	"example.com/demo/internal/store"
)

// version is set at link time by the Makefile.
var version = "dev"

// shutdownGrace is how long a stopping daemon waits for calls in flight.
const shutdownGrace = 30 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
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
	fs.StringVar(&o.socket, "socket", "", "unix socket to serve (default "+dockerplugin.SocketDir+"/NAME.sock)")
	fs.StringVar(&o.tcp, "tcp", "", "serve on this TCP address (127.0.0.1:9555) instead, announced by a spec file")
	fs.StringVar(&o.specDir, "spec-dir", dockerplugin.SpecDir, "where --tcp writes NAME.spec")
	fs.StringVar(&o.stateDir, "state-dir", "/var/lib/demo-docker", "where networks and endpoints are kept")
	fs.StringVar(&o.lockDir, "lock-dir", bridge.DefaultLockDir, "bridge lock files, shared with the netavark plugin")
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
		o.socket = filepath.Join(dockerplugin.SocketDir, o.name+".sock")
	}
	return o, nil
}

// run runs the daemon until ctx is done and returns its exit status.
func run(ctx context.Context, args []string, stderr io.Writer) int {
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
	if err := serve(ctx, o, log); err != nil {
		log.Error("exit", "err", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, o options, log *slog.Logger) error {
	st, err := store.Open(o.stateDir)
	if err != nil {
		return err
	}
	d := bridge.NewDocker(st, log)
	d.LockDir = o.lockDir

	l, where, cleanup, err := listen(o)
	if err != nil {
		return err
	}
	log.Info("serving", "driver", o.name, "on", where, "state", o.stateDir, "version", version)
	err = dockerplugin.Serve(ctx, l, dockerplugin.NewHandler(d, log), shutdownGrace)
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
	if l, err := dockerplugin.SystemdListener(); l != nil || err != nil {
		return l, "systemd socket", nothing, err
	}
	if o.tcp == "" {
		l, err := dockerplugin.ListenUnix(o.socket)
		return l, o.socket, nothing, err
	}
	l, err := net.Listen("tcp", o.tcp)
	if err != nil {
		return nil, "", nil, err
	}
	url := "tcp://" + l.Addr().String()
	removeSpec, err := dockerplugin.WriteSpec(o.specDir, o.name, url)
	if err != nil {
		l.Close()
		return nil, "", nil, err
	}
	return l, url, removeSpec, nil
}
