package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"example.com/demo/internal/agent"
	"example.com/demo/internal/agentapi"
	"example.com/demo/internal/cluster"
	"example.com/demo/internal/config"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/overlay"
)

// etcdFlags are the flags that say where etcd is, which override the
// configuration file, for the agent and the network commands.
type etcdFlags struct {
	path, endpoints, cacert, cert, key string
}

// register adds the flags to fs.
func (f *etcdFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "config", config.Path(), "configuration file (JSON); a missing one is no error when the flags say all")
	fs.StringVar(&f.endpoints, "etcd-endpoints", "", "etcd client URLs, comma-separated (http://192.0.2.1:2379)")
	fs.StringVar(&f.cacert, "etcd-cacert", "", "CA certificate of etcd's TLS certificate (PEM)")
	fs.StringVar(&f.cert, "etcd-cert", "", "client certificate for etcd (PEM)")
	fs.StringVar(&f.key, "etcd-key", "", "key of --etcd-cert (PEM)")
}

// load reads the configuration file, which may be missing when the flags
// name etcd's endpoints, and applies the flags to it.
func (f *etcdFlags) load() (config.Config, error) {
	cfg, err := config.Load(f.path)
	if err != nil && !(errors.Is(err, config.ErrNoConfig) && f.endpoints != "") {
		return config.Config{}, err
	}
	if f.endpoints != "" {
		cfg.Etcd.Endpoints = strings.Split(f.endpoints, ",")
	}
	for dst, src := range map[*string]string{&cfg.Etcd.CACert: f.cacert, &cfg.Etcd.Cert: f.cert, &cfg.Etcd.Key: f.key} {
		if src != "" {
			*dst = src
		}
	}
	return cfg, nil
}

// usage sets fs's usage message: its synopsis, what it does, and its flags.
func usage(fs *flag.FlagSet, synopsis, text string) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n\n%s\n\n", synopsis, text)
		fs.PrintDefaults()
	}
}

// runAgent runs the agent with the flags in args until ctx ends, and
// returns the exit status: 2 for bad flags or configuration, 1 when it
// cannot start.
func runAgent(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("demo-agent", flag.ContinueOnError)
	usage(fs, "demo-agent [flags]", "Keeps this host registered in the cluster, and its VXLAN devices in step with\nthe other hosts' containers, and serves the plugin's calls on its socket.\nFlags override the configuration file.")
	var etcd etcdFlags
	etcd.register(fs)
	host := fs.String("host", "", "this host's name in the cluster (default: the host name)")
	vtep := fs.String("vtep", "", "this host's underlay address")
	device := fs.String("device", "", "the underlay interface (default: the one that holds --vtep)")
	ttl := fs.Duration("ttl", agent.DefaultTTL, "lease of the host: how long its endpoints outlive it")
	lockDir := fs.String("lock-dir", "", "the bridges' lock files, shared with the plugin (default: the configuration's, else "+driver.DefaultLockDir+")")
	socket := fs.String("socket", "", "the unix socket where the plugin calls the agent (default: the configuration's, else "+agentapi.DefaultSocket+")")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "demo-agent: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, err := etcd.load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo-agent:", err)
		return 2
	}
	for dst, src := range map[*string]string{&cfg.Host: *host, &cfg.Device: *device, &cfg.LockDir: *lockDir, &cfg.AgentSocket: *socket} {
		if src != "" {
			*dst = src
		}
	}
	if *vtep != "" {
		if cfg.VTEP, err = netip.ParseAddr(*vtep); err != nil {
			fmt.Fprintf(os.Stderr, "demo-agent: --vtep %q: %v\n", *vtep, err)
			return 2
		}
	}
	if err := cfg.Complete(); err != nil {
		fmt.Fprintln(os.Stderr, "demo-agent:", err)
		return 2
	}
	if err := overlay.CheckVTEP(cfg.VTEP, cfg.Device); err != nil {
		fmt.Fprintln(os.Stderr, "demo-agent:", err)
		return 2
	}
	c, err := cluster.Open(ctx, agent.ClusterConfig(cfg))
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo-agent:", err)
		return 1
	}
	defer c.Close()
	a := &agent.Agent{Cluster: c, Host: cfg.Host, VTEP: cfg.VTEP, TTL: *ttl, LockDir: cfg.LockDir,
		Socket: cfg.AgentSocket, Log: driver.NewLogger(os.Stderr, *level)}
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demo-agent:", err)
		return 1
	}
	return 0
}
