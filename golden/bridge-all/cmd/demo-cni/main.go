// Command demo-cni is the CNI plugin of demo: a container runtime that
// speaks CNI (containerd, CRI-O, cnitool, ...) finds it in CNI_PATH by the
// "type" of a network configuration and runs it once per operation:
//
//	CNI_COMMAND=ADD CNI_CONTAINERID=ID CNI_NETNS=PATH CNI_IFNAME=eth0 \
//	CNI_PATH=/opt/cni/bin demo-cni < network.json
//
// with the operation in CNI_COMMAND (ADD, DEL, CHECK, GC, STATUS, VERSION).
// It prints the result, or a CNI error object, on stdout (package cni).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"example.com/demo/internal/cni"
)

// version is set at link time by the Makefile.
var version = "dev"

func main() {
	// A signal does not stop an operation halfway, as with the netavark
	// plugin.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	status := cni.Main(ctx, version)
	stop()
	os.Exit(status)
}
