// Command demo is a netavark plugin: netavark runs it as
//
//	demo create            < network.json
//	demo setup NETNS-PATH  < network-plugin-exec.json
//	demo teardown NETNS-PATH < network-plugin-exec.json
//	demo info
//
// for every network whose driver is "demo" (podman network create -d demo).
// It reads one JSON document on stdin and writes one on stdout (package
// netavark).
//
//	demo agent [flags]
//
// is the daemon that runs on every host of the cluster (package agent), and
//
//	demo network ls | rm NAME...
//
// list and remove the cluster's networks.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"example.com/demo/internal/netavark"
)

// version is set at link time by the Makefile.
var version = "dev"

func main() {
	// A signal does not stop a call halfway: netavark (1.15 and later)
	// ignores SIGTERM and SIGINT while it tears down, so that an
	// interrupted podman leaves nothing half done, and so does the plugin.
	// The agent stops on them.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	var status int
	switch {
	case len(os.Args) > 1 && os.Args[1] == "agent":
		status = runAgent(ctx, os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "network":
		status = runNetwork(ctx, os.Args[2:], os.Stdout)
	default:
		status = netavark.Main(ctx, version)
	}
	stop()
	os.Exit(status)
}
