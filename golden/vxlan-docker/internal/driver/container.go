package driver

import (
	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/firewall"
)

// Container is one interface of a container on a network.
type Container struct {
	// ID and Name identify the container in its firewall elements.
	ID, Name string
	// Link is the container's veth pair: names, MAC, MTU, addresses and
	// routes.
	Link dataplane.Attachment
	// Ports are the container's published ports (Network.PublishedPorts).
	Ports []firewall.Port
}

// firewall is the container as the firewall sees it.
func (c Container) firewall() firewall.Container {
	fc := firewall.Container{ID: c.ID, Name: c.Name, Ports: c.Ports}
	for _, a := range c.Link.Addresses {
		fc.Addresses = append(fc.Addresses, a.Addr())
	}
	return fc
}
