// Command fwstep is the firewall step of one container, as the plugin runs
// it, for the benchmark (TestBenchFirewallStep): it publishes one port of
// a container of the benchmark's network, or withdraws it.
//
//	fwstep add|remove TABLE LOCKDIR
package main

import (
	"fmt"
	"net/netip"
	"os"

	"example.com/demo/internal/firewall"
)

func main() {
	if len(os.Args) != 4 || os.Args[1] != "add" && os.Args[1] != "remove" {
		fmt.Fprintln(os.Stderr, "usage: fwstep add|remove TABLE LOCKDIR")
		os.Exit(2)
	}
	fw := &firewall.Firewall{Table: os.Args[2], LockDir: os.Args[3]}
	network := firewall.Network{Name: "bench", Bridge: "fwbench0", Subnets: []netip.Prefix{netip.MustParsePrefix("10.246.0.0/16")}}
	c := firewall.Container{ID: "fwstep", Name: "step", Addresses: []netip.Addr{netip.MustParseAddr("10.246.250.250")},
		Ports: []firewall.Port{{Protocol: firewall.TCP, HostPort: 29999, ContainerPort: 80, Range: 1}}}
	var err error
	if os.Args[1] == "add" {
		err = fw.Add(network, c)
	} else {
		err = fw.Remove(network, c, false)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
