// Command cluster runs a command against a cluster of demo of one host,
// this one, that lives as long as the command:
//
//	go run ./test/cluster -- COMMAND [ARG...]
//
// It starts an etcd on a unix socket (etcd's own server, in this process,
// with its data in a temporary directory), runs the agent for this host with
// 127.0.0.1 as its VTEP, serving the plugin on a socket in that directory,
// writes a configuration file for them and points the command at it with
// DEMO_CONFIG, then runs the command and stops
// everything when it ends, with its exit status. `make conformance` runs
// the protocol checker so, and it is a way to try the plugin on one
// machine. A real cluster runs etcd on its own (see the README).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"example.com/demo/internal/agent"
	"example.com/demo/internal/cluster"
	"example.com/demo/internal/config"
	"example.com/demo/internal/etcdtest"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./test/cluster -- COMMAND [ARG...]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	status, err := run(ctx, args)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
	}
	os.Exit(status)
}

// run runs the cluster and the command, and returns the command's exit
// status.
func run(ctx context.Context, args []string) (int, error) {
	dir, err := os.MkdirTemp("", "demo-cluster-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	// etcd on a unix socket, which the plugin reaches from any network
	// namespace that the command runs it in.
	srv, err := etcdtest.RunSocket(dir)
	if err != nil {
		return 1, err
	}
	defer srv.Close()

	cfg := config.Config{
		Etcd:    config.Etcd{Endpoints: srv.Endpoints()},
		Host:    "local",
		VTEP:    netip.MustParseAddr("127.0.0.1"),
		LockDir: filepath.Join(dir, "locks"),
		// The plugin calls the agent here.
		AgentSocket: filepath.Join(dir, "agent.sock"),
	}
	path := filepath.Join(dir, "config.json")
	b, err := json.Marshal(cfg)
	if err == nil {
		err = os.WriteFile(path, b, 0o600)
	}
	if err != nil {
		return 1, err
	}
	c, err := cluster.Open(ctx, agent.ClusterConfig(cfg))
	if err != nil {
		return 1, err
	}
	defer c.Close()
	a := &agent.Agent{Cluster: c, Host: cfg.Host, VTEP: cfg.VTEP, LockDir: cfg.LockDir,
		Socket: cfg.AgentSocket, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	agentCtx, stopAgent := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(agentCtx) }()
	defer func() {
		stopAgent()
		<-done
	}()
	if err := serving(cfg.AgentSocket, done); err != nil {
		return 1, err
	}

	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), config.PathEnv+"="+path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	if cmd.ProcessState != nil {
		return cmd.ProcessState.ExitCode(), nil
	}
	return 1, err
}

// serving waits until the agent, which has registered the host by then,
// serves the plugin on socket.
func serving(socket string, done <-chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", socket)
		if err == nil {
			return c.Close()
		}
		select {
		case err := <-done:
			return fmt.Errorf("the agent stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the agent does not serve %s after 10s: %w", socket, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
