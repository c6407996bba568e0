// Command demo-docker is the Docker network driver of demo for a swarm:
// a daemon that serves the engine's NetworkDriver API, as a global driver
// whose networks span the swarm's hosts over VXLAN, and its IpamDriver
// API, which reserves the containers' addresses in etcd, on
//
//	/run/docker/plugins/demo.sock
//
// The engine takes a global driver only in a swarm, and there only as a
// managed plugin (make docker-plugin; packaging/docker-plugin/config.json).
// It reads this host's configuration, the netavark plugin's, and calls
// this host's agent, demo-agent, as the netavark plugin does (package
// docker).
//
// Usage:
//
//	demo-docker [--name NAME] [--socket PATH] [--sysctl-dir DIR] [--debug]
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"example.com/demo/internal/docker"
)

// version is set at link time by the Makefile.
var version = "dev"

func main() {
	// SIGTERM or SIGINT stop the daemon once the calls in flight are
	// answered.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	status := docker.Main(ctx, version)
	stop()
	os.Exit(status)
}
