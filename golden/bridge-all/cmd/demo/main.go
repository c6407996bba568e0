// Command demo is a netavark network plugin: netavark runs it as
//
//	demo create            < network.json
//	demo setup NETNS-PATH  < network-plugin-exec.json
//	demo teardown NETNS-PATH < network-plugin-exec.json
//	demo info
//
// for every network whose driver is "demo" (podman network create -d demo).
// It reads one JSON document on stdin, writes one on stdout and logs to stderr.
package main

import (
	"context"
	"os"

	"example.com/demo/internal/bridge"
	"example.com/demo/internal/plugin"
)

// version is set at link time by the Makefile.
var version = "dev"

func main() {
	os.Exit(plugin.Run(context.Background(), bridge.New(version), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
