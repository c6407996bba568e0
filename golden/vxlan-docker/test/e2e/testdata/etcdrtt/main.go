// Command etcdrtt times etcd round trips for the benchmark (TestBenchCycle)
// from the network namespace that it runs in, a host's, as the host's
// agent reaches etcd from there. It connects to etcd as the configuration
// file CONFIG says, as the agent does, and reads the record of the file's
// host once, so that the connection is up; it prints "ready". Then for every line on its standard input it reads the
// record again and prints how long that took, in nanoseconds. It exits at
// the end of its input.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"time"

	"example.com/demo/internal/agent"
	"example.com/demo/internal/cluster"
	"example.com/demo/internal/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: etcdrtt CONFIG")
		os.Exit(2)
	}
	cfg, err := config.Load(os.Args[1])
	if err == nil {
		err = cfg.Complete()
	}
	if err != nil {
		fail(err)
	}
	c, err := cluster.Open(context.Background(), agent.ClusterConfig(cfg))
	if err != nil {
		fail(err)
	}
	defer c.Close()
	read := func() time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		if _, err := c.HostLease(ctx, cfg.Host); err != nil {
			fail(err)
		}
		return time.Since(start)
	}
	read()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Println(read().Nanoseconds())
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "etcdrtt:", err)
	os.Exit(1)
}
