// Command demo-docker is the Docker remote network driver of demo: a
// daemon that serves the engine's NetworkDriver API, by default on
//
//	/run/docker/plugins/demo.sock
//
// where the engine finds it for every network of driver "demo"
// (docker network create -d demo). It attaches containers to a Linux
// bridge with the same driver as the netavark plugin demo, and keeps its
// networks and endpoints in --state-dir so that it can be restarted while
// containers run (package docker).
//
// Usage:
//
//	demo-docker [--name NAME] [--socket PATH | --tcp ADDR [--spec-dir DIR]
//	           [--tls-cert FILE --tls-key FILE --tls-ca FILE
//	            --tls-client-cert FILE --tls-client-key FILE]]
//	           [--state-dir DIR] [--lock-dir DIR] [--sysctl-dir DIR] [--debug]
//
// With --tcp the daemon listens on ADDR and writes DIR/NAME.spec, which
// points the engine at it; on an address that is not loopback only with
// the TLS flags, and then it answers only clients with a certificate of
// the CA and writes DIR/NAME.json. Under systemd socket activation it
// serves the socket it is given.
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
