package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"example.com/demo/internal/agent"
	"example.com/demo/internal/cluster"
)

// runNetwork runs `demo-agent network ls` or `demo-agent network rm NAME...`, which
// list and remove the cluster's networks in etcd: podman network rm removes
// a network from one host's podman only, and its record (its VNI and its
// subnets, which no other network may take) stays until it is removed here.
func runNetwork(ctx context.Context, args []string, stdout io.Writer) int {
	fs := flag.NewFlagSet("demo-agent network", flag.ContinueOnError)
	usage(fs, "demo-agent network ls [flags] | demo-agent network rm [flags] NAME...", "Lists the cluster's networks, or removes networks that no container uses.")
	var etcd etcdFlags
	etcd.register(fs)
	if len(args) == 0 || (args[0] != "ls" && args[0] != "rm") {
		fs.Usage()
		return 2
	}
	verb := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if verb == "rm" && fs.NArg() == 0 || verb == "ls" && fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	cfg, err := etcd.load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo-agent network:", err)
		return 2
	}
	c, err := cluster.Open(ctx, agent.ClusterConfig(cfg))
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo-agent network:", err)
		return 1
	}
	defer c.Close()
	if verb == "ls" {
		err = list(ctx, c, stdout)
	} else {
		for _, name := range fs.Args() {
			if err = c.DeleteNetwork(ctx, name); err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo-agent network:", err)
		return 1
	}
	return 0
}

// list prints the cluster's networks to w, with their VNIs, subnets and
// number of endpoints.
func list(ctx context.Context, c *cluster.Cluster, w io.Writer) error {
	networks, err := c.Networks(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVNI\tSUBNETS\tENDPOINTS")
	for _, n := range networks {
		eps, _, err := c.Endpoints(ctx, n.Name)
		if err != nil {
			return err
		}
		var subnets []string
		for _, s := range n.Subnets {
			subnets = append(subnets, s.Prefix.String())
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", n.Name, n.VNI, strings.Join(subnets, ","), len(eps))
	}
	return tw.Flush()
}
