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
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	status := netavark.Main(ctx, version)
	stop()
	os.Exit(status)
}
