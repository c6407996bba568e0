package driver

import "example.com/demo/internal/dataplane"

// Check reports whether c is still attached to n as Attach left it: its
// links (dataplane.Check) and, unless the network's firewall is off, its
// network's chains and published ports. It changes nothing.
func (d *Driver) Check(n Network, c Container) error {
	if err := dataplane.Check(n.Bridge, c.Link); err != nil {
		return err
	}
	if !n.Firewall {
		return nil
	}
	return d.Firewall.Check(n.firewall(), c.firewall())
}
