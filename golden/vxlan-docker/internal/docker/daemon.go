package docker

// The daemon: its flags, its listener, and serving until its context ends.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"example.com/demo/internal/config"
	"example.com/demo/internal/dataplane"
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
	name, socket, sysctlDir string
	debug, version          bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo-docker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.name, "name", "demo", "driver name: docker network create -d NAME")
	fs.StringVar(&o.socket, "socket", "", "unix socket to serve (default "+SocketDir+"/NAME.sock)")
	fs.StringVar(&o.sysctlDir, "sysctl-dir", dataplane.SysctlDir, "where the network sysctls are (a managed plugin's /proc/sys is read-only)")
	fs.BoolVar(&o.debug, "debug", false, "log every call")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
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

// daemon reads this host's configuration, the netavark plugin's, and
// serves the engine's calls with it.
func daemon(ctx context.Context, o options, version string, log *slog.Logger) error {
	cfg, err := config.Load(config.Path())
	if err == nil {
		err = cfg.CompleteLocal()
	}
	if err != nil {
		return err
	}
	l, err := ListenUnix(o.socket)
	if err != nil {
		return err
	}
	dataplane.SysctlDir = o.sysctlDir
	log.Info("serving", "driver", o.name, "on", o.socket, "agent", cfg.AgentSocket, "version", version)
	err = Serve(ctx, l, NewGlobalServer(NewPlugin(cfg, log), log), shutdownGrace, log)
	log.Info("stopped")
	return err
}
