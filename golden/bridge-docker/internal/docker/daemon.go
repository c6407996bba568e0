package docker

// The daemon: its flags, its listener, and serving until its context ends.

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"example.com/demo/internal/dataplane"
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
	sysctlDir                                     string
	tls                                           TLSFiles
	debug, version                                bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo-docker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.name, "name", "demo", "driver name: docker network create -d NAME")
	fs.StringVar(&o.socket, "socket", "", "unix socket to serve (default "+SocketDir+"/NAME.sock)")
	fs.StringVar(&o.tcp, "tcp", "", "serve on this TCP address (127.0.0.1:9555) instead, announced by a spec file")
	fs.StringVar(&o.specDir, "spec-dir", SpecDir, "where --tcp writes NAME.spec (NAME.json with TLS)")
	fs.StringVar(&o.tls.Cert, "tls-cert", "", "with --tcp: serve TLS with this certificate (PEM), signed by --tls-ca")
	fs.StringVar(&o.tls.Key, "tls-key", "", "the key of --tls-cert")
	fs.StringVar(&o.tls.CA, "tls-ca", "", "the CA that signs --tls-cert and the engine's certificate; only its clients are answered")
	fs.StringVar(&o.tls.ClientCert, "tls-client-cert", "", "the engine's client certificate, which NAME.json names for it")
	fs.StringVar(&o.tls.ClientKey, "tls-client-key", "", "the key of --tls-client-cert")
	fs.StringVar(&o.stateDir, "state-dir", "/var/lib/demo-docker", "where networks and endpoints are kept")
	fs.StringVar(&o.lockDir, "lock-dir", driver.DefaultLockDir, "bridge lock files, shared with the netavark plugin")
	fs.StringVar(&o.sysctlDir, "sysctl-dir", dataplane.SysctlDir, "where the network sysctls are (a managed plugin's /proc/sys is read-only)")
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
	if err := checkTLSFlags(o); err != nil {
		return options{}, err
	}
	return o, nil
}

// checkTLSFlags checks that the TLS flags come as a whole: the daemon's
// three and the engine's two, with --tcp.
func checkTLSFlags(o options) error {
	f := o.tls
	server := []string{f.Cert, f.Key, f.CA}
	client := []string{f.ClientCert, f.ClientKey}
	switch {
	case countSet(server) == 0 && countSet(client) == 0:
		return nil
	case countSet(server) != len(server):
		return errors.New("--tls-cert, --tls-key and --tls-ca go together: give all three or none")
	case countSet(client) != len(client):
		return errors.New("with TLS, --tls-client-cert and --tls-client-key name the engine's certificate for the spec file: give both")
	case o.tcp == "":
		return errors.New("the TLS flags are for --tcp")
	}
	return o.tls.absolute()
}

// countSet returns how many of values are not empty.
func countSet(values []string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
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
	l, where, cleanup, err := listen(o)
	if err != nil {
		return err
	}
	// The lock directory is the netavark plugin's too, which creates it
	// as the daemon would.
	err = store.CheckPrivate(o.lockDir)
	var st *store.Store
	if err == nil {
		st, err = store.Open(o.stateDir)
	}
	if err != nil {
		l.Close()
		return errors.Join(err, cleanup())
	}
	dataplane.SysctlDir = o.sysctlDir
	p := NewPlugin(driver.New(o.lockDir), st, log)
	log.Info("serving", "driver", o.name, "on", where, "state", o.stateDir, "version", version)
	err = Serve(ctx, l, NewServer(p, log), shutdownGrace, log)
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
	addr := l.Addr().(*net.TCPAddr)
	spec := Spec{Name: o.name, Addr: "tcp://" + addr.String()}
	if o.tls.CA != "" {
		// On an unspecified address (0.0.0.0, ::, which Go listens on
		// for IPv4 and IPv6 alike) the engine dials loopback.
		host := addr.IP
		if host.IsUnspecified() {
			host = net.IPv4(127, 0, 0, 1)
		}
		var config *tls.Config
		if config, err = o.tls.ServerConfig(host.String()); err != nil {
			l.Close()
			return nil, "", nil, err
		}
		l = tls.NewListener(l, config)
		spec = o.tls.Spec(o.name, net.JoinHostPort(host.String(), strconv.Itoa(addr.Port)))
	} else if !addr.IP.IsLoopback() {
		// The driver API changes the host's network: anyone who can
		// call it is root there.
		l.Close()
		return nil, "", nil, fmt.Errorf("refusing to serve the driver API unauthenticated on %s, which is not a loopback address: "+
			"give --tls-cert, --tls-key, --tls-ca, --tls-client-cert and --tls-client-key for mutual TLS, or listen on 127.0.0.1", addr)
	}
	removeSpec, err := WriteSpec(o.specDir, spec)
	if err != nil {
		l.Close()
		return nil, "", nil, err
	}
	return l, spec.Addr, removeSpec, nil
}
