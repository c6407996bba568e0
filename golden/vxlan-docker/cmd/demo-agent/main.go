// Command demo-agent is the daemon that runs on every host of a demo
// cluster (package agent), started by its systemd unit (demo-agent.service):
//
//	demo-agent [flags]
//
// It keeps the host registered in etcd and the VXLAN devices of the host's
// networks in step with the other hosts' containers, and serves the calls
// of the plugin (demo, which netavark runs for each container) on its unix
// socket: the plugin never reaches etcd itself. And
//
//	demo-agent network ls | rm NAME...
//
// list and remove the cluster's networks.
//
// It is not in netavark's plugin directory, where every executable is
// taken for a plugin.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	var status int
	if len(os.Args) > 1 && os.Args[1] == "network" {
		status = runNetwork(ctx, os.Args[2:], os.Stdout)
	} else {
		status = runAgent(ctx, os.Args[1:])
	}
	stop()
	os.Exit(status)
}
