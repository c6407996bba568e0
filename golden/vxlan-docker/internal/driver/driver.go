// Package driver is the network driver of demo, and the package to edit
// to change what the plugin does. It says what a network and a container
// on it are, from what users give (Settings, Network, Container), and what
// attaching and detaching a container does (Driver): its links, made by
// package dataplane, and its firewall rules, kept by package firewall,
// under the lock of the network's bridge, and undone when a step fails.
//
// Each runtime reaches the driver through a front end of its own: package
// netavark for podman, and the docker and cni packages where the project
// has them. A front end translates its runtime's messages into these calls,
// and their results back. Start reading at Driver.Attach.
package driver

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/firewall"
)

// Name is the plugin's name: the name of its executable and driver, of its
// nftables table (inet demo), and the alias of the bridges it creates.
const Name = "demo"

// DefaultLockDir is where the driver keeps its lock files: runtimes set up
// several containers at once, and attaching to a bridge must not race with
// removing it.
const DefaultLockDir = "/run/demo"

// LogEnv is the environment variable that turns the log on: the plugin
// writes nothing on stderr unless it is set to debug, info, warn or error,
// since runtimes show their users what a plugin writes there.
const LogEnv = "DEMO_LOG"

// NewLogger returns a logger that writes to w from level on (debug, info,
// warn or error), or one that writes nothing when level is empty or none
// of these.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if level == "" || l.UnmarshalText([]byte(level)) != nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// Driver attaches containers to networks and detaches them.
type Driver struct {
	// LockDir holds the lock files of the bridges, shared by every front
	// end of the plugin on the host.
	LockDir string
	// Firewall keeps the networks' nftables rules.
	Firewall *firewall.Firewall
}

// New returns a Driver with its lock files in lockDir (DefaultLockDir,
// unless a test or a daemon's flag says otherwise) and the plugin's table.
func New(lockDir string) *Driver {
	return &Driver{
		LockDir:  lockDir,
		Firewall: &firewall.Firewall{Table: Name, LockDir: lockDir},
	}
}

// Attach connects container c to network n: n's bridge, created with its
// first container, c's veth pair, and n's firewall rules with c's published
// ports. If a step fails, what this call made is removed again.
func (d *Driver) Attach(n Network, c Container) (res dataplane.Result, err error) {
	err = d.Locked(n.Bridge.Name, func(s *Session) error {
		res, err = s.Attach(n, c)
		return err
	})
	return res, err
}

// Detach removes what Attach made for c, and with n's last container the
// bridge (if the driver created it) and n's firewall rules. It succeeds when
// there is nothing to remove.
func (d *Driver) Detach(n Network, c Container) error {
	return d.Locked(n.Bridge.Name, func(s *Session) error { return s.Detach(n, c) })
}

// Publish publishes c's ports, for a runtime that asks for them once the
// container is attached (Docker).
func (d *Driver) Publish(n Network, c Container) error {
	return d.Locked(n.Bridge.Name, func(s *Session) error { return s.Publish(n, c) })
}

// Withdraw withdraws c's published ports and leaves it attached.
func (d *Driver) Withdraw(n Network, c Container) error {
	return d.Locked(n.Bridge.Name, func(s *Session) error { return s.Withdraw(n, c) })
}

// Locked runs fn with the lock of bridge held: fn's calls of the Session
// change the networks on bridge. A front end that keeps records of its own
// in step with the links (CNI) takes the lock so, and calls the Session.
func (d *Driver) Locked(bridge string, fn func(*Session) error) error {
	return dataplane.Locked(d.LockDir, bridge, func(l *dataplane.FileLock) error {
		return fn(&Session{d: d, bridge: bridge, lock: l})
	})
}

// Session is a Driver with the lock of one bridge held.
type Session struct {
	d      *Driver
	bridge string
	lock   *dataplane.FileLock
}

// locked refuses a network whose bridge is not the session's.
func (s *Session) locked(n Network) error {
	if n.Bridge.Name != s.bridge {
		return fmt.Errorf("network %s is on bridge %s, not on %s, whose lock is held", n.Name, n.Bridge.Name, s.bridge)
	}
	return nil
}

// Attach is Driver.Attach, under the session's lock.
func (s *Session) Attach(n Network, c Container) (dataplane.Result, error) {
	if err := s.locked(n); err != nil {
		return dataplane.Result{}, err
	}
	res, err := dataplane.Attach(n.Bridge, c.Link)
	if err != nil {
		return dataplane.Result{}, err
	}
	if n.Firewall {
		if err := s.d.Firewall.Add(n.firewall(), c.firewall()); err != nil {
			return dataplane.Result{}, errors.Join(err, s.rollback(n, c))
		}
	}
	return res, nil
}

// rollback detaches c after a failed Attach.
func (s *Session) rollback(n Network, c Container) error {
	det, err := dataplane.Detach(n.Bridge, c.Link)
	if err != nil {
		return fmt.Errorf("roll back: %w", err)
	}
	if det.BridgeGone {
		s.lock.RemoveOnUnlock()
	}
	return nil
}

// Detach is Driver.Detach, under the session's lock.
func (s *Session) Detach(n Network, c Container) error {
	if err := s.locked(n); err != nil {
		return err
	}
	det, err := dataplane.Detach(n.Bridge, c.Link)
	if err != nil {
		return err
	}
	if n.Firewall {
		if err := s.d.Firewall.Remove(n.firewall(), c.firewall(), det.Empty); err != nil {
			return err
		}
	}
	if det.BridgeGone {
		s.lock.RemoveOnUnlock()
	}
	return nil
}

// Publish is Driver.Publish, under the session's lock.
func (s *Session) Publish(n Network, c Container) error {
	if err := s.locked(n); err != nil || !n.Firewall {
		return err
	}
	return s.d.Firewall.Add(n.firewall(), c.firewall())
}

// Withdraw is Driver.Withdraw, under the session's lock.
func (s *Session) Withdraw(n Network, c Container) error {
	if err := s.locked(n); err != nil || !n.Firewall {
		return err
	}
	return s.d.Firewall.Remove(n.firewall(), c.firewall(), false)
}
