// Package cni is the front end of demo for CNI runtimes: a CNI plugin
// (spec 1.1.0, and 0.3.0 to 1.0.0) over the same driver as the netavark
// plugin, package driver; [Plugin] translates the commands into the
// driver's calls. A runtime runs it once per operation, with CNI_COMMAND and
// the other CNI_* variables in the environment and the network
// configuration on stdin:
//
//   - ADD attaches the container's netns to the bridge with a veth pair,
//     publishes its ports, and prints the result; a second ADD of the same
//     container and interface fails until a DEL;
//   - DEL detaches it, and succeeds when there is nothing to remove;
//   - CHECK compares the attachment with prevResult, and its ports with the
//     firewall's;
//   - GC removes every attachment of the network that the runtime does not
//     list as valid;
//   - STATUS says whether ADD can work;
//   - VERSION lists the supported spec versions (package skel answers it).
//
// Addresses come from the IPAM plugin of the ipam section when there is one
// (it sees args.cni.ips, runtimeConfig.ips and CNI_ARGS IP itself), and
// otherwise from those keys, in that order of precedence: see
// requestedAddresses. Errors are CNI error objects on stdout, with the
// spec's codes.
package cni

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/containernetworking/cni/pkg/ns"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/store"
)

// SupportedVersions are the CNI spec versions the plugin speaks. CHECK
// needs 0.4.0 or later, GC and STATUS 1.1.0; package skel enforces that.
var SupportedVersions = version.PluginSupports("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")

// ErrAttachmentExists is the code of the error of an ADD for a container
// interface that is attached already. The spec reserves codes below 100.
const ErrAttachmentExists uint = 100

// Plugin runs the CNI commands: it translates them into the driver's calls,
// the same driver as the netavark plugin's, with the same lock files and
// nftables table, and keeps a record of each attachment.
type Plugin struct {
	// Driver attaches and detaches the containers.
	Driver *driver.Driver
	log    *slog.Logger
	// cniVersion is the configuration's, for the error object.
	cniVersion string
}

// NewPlugin returns a Plugin over the plugin's driver that logs to stderr,
// which runtimes pass on, as driver.LogEnv says: by default not at all.
func NewPlugin() *Plugin {
	return &Plugin{
		Driver: driver.New(driver.DefaultLockDir),
		log:    driver.NewLogger(os.Stderr, os.Getenv(driver.LogEnv)),
	}
}

// Main runs the command of the environment (CNI_COMMAND and the others)
// and returns the exit status; version is what the plugin prints, with the
// spec versions it supports, when run without CNI_COMMAND.
func Main(ctx context.Context, version string) int {
	p := NewPlugin()
	funcs := skel.CNIFuncs{
		Add:    func(args *skel.CmdArgs) error { return p.cmdAdd(ctx, args) },
		Del:    func(args *skel.CmdArgs) error { return p.cmdDel(ctx, args) },
		Check:  func(args *skel.CmdArgs) error { return p.cmdCheck(ctx, args) },
		GC:     func(args *skel.CmdArgs) error { return p.cmdGC(ctx, args) },
		Status: func(args *skel.CmdArgs) error { return p.cmdStatus(ctx, args) },
	}
	if err := skel.PluginMainFuncsWithError(funcs, SupportedVersions, "CNI plugin "+driver.Name+"-cni "+version); err != nil {
		writeError(os.Stdout, p.cniVersion, err)
		return 1
	}
	return 0
}

// errorResult is the spec's error object. skel's own lacks cniVersion.
type errorResult struct {
	CNIVersion string `json:"cniVersion,omitempty"`
	Code       uint   `json:"code"`
	Msg        string `json:"msg"`
	Details    string `json:"details,omitempty"`
}

func writeError(w io.Writer, cniVersion string, e *types.Error) {
	data, _ := json.Marshal(errorResult{CNIVersion: cniVersion, Code: e.Code, Msg: e.Msg, Details: e.Details})
	w.Write(append(data, '\n'))
}

// load parses the configuration of a command. It takes cniVersion first,
// for the error object of a configuration that does not parse.
func (p *Plugin) load(args *skel.CmdArgs) (*config, error) {
	var v struct {
		CNIVersion string `json:"cniVersion"`
	}
	_ = json.Unmarshal(args.StdinData, &v) // skel has checked that it decodes
	p.cniVersion = v.CNIVersion
	return parseConfig(args.StdinData)
}

func (p *Plugin) cmdAdd(ctx context.Context, args *skel.CmdArgs) error {
	c, err := p.load(args)
	if err != nil {
		return err
	}
	res, err := p.add(ctx, c, args)
	if err != nil {
		return err
	}
	return types.PrintResult(res, c.CNIVersion)
}

func (p *Plugin) cmdDel(ctx context.Context, args *skel.CmdArgs) error {
	c, err := p.load(args)
	if err != nil {
		return err
	}
	return p.del(ctx, c, args)
}

func (p *Plugin) cmdCheck(ctx context.Context, args *skel.CmdArgs) error {
	c, err := p.load(args)
	if err != nil {
		return err
	}
	return p.check(ctx, c, args)
}

func (p *Plugin) cmdGC(ctx context.Context, args *skel.CmdArgs) error {
	c, err := p.load(args)
	if err != nil {
		return err
	}
	return p.gc(ctx, c, args)
}

func (p *Plugin) cmdStatus(ctx context.Context, args *skel.CmdArgs) error {
	c, err := p.load(args)
	if err != nil {
		return err
	}
	return p.status(ctx, c, args)
}

// add attaches the container and returns the result: prevResult, if any,
// with the bridge, the host end and the container interface appended, and
// the container's addresses and routes. A failed step undoes the ones
// before it.
func (p *Plugin) add(ctx context.Context, c *config, args *skel.CmdArgs) (_ *current.Result, err error) {
	prev, err := c.prevResult()
	if err != nil {
		return nil, err
	}
	// Requested addresses are checked before anything is locked or
	// allocated; IPAM's come under the lock.
	var addr addressing
	if c.IPAM.Type == "" {
		requested, source, err := requestedAddresses(&c.NetConf, args.Args)
		if err != nil {
			return nil, err
		}
		if addr, err = c.staticAddressing(requested, source); err != nil {
			return nil, invalidConfig(err)
		}
	}
	if err := dataplane.ValidateNetns(args.Netns); err != nil {
		return nil, types.NewError(types.ErrInvalidEnvironmentVariables, "invalid CNI_NETNS", err.Error())
	}
	// skel refuses the plugin's own netns too, but only once ADD is done.
	if same, err := ns.CheckNetNS(args.Netns); err != nil {
		return nil, err
	} else if same {
		return nil, types.NewError(types.ErrInvalidNetNS, "invalid CNI_NETNS", "CNI_NETNS is the plugin's own network namespace")
	}
	hostIfName := c.hostIfName(args.ContainerID, args.IfName)
	recs, err := openRecords(c.dataDir, c.Name)
	if err != nil {
		return nil, err
	}
	var n driver.Network
	var res dataplane.Result
	var bridgeMAC, hostMAC net.HardwareAddr
	var rec record
	err = p.Driver.Locked(c.bridge, func(s *driver.Session) (err error) {
		if recs.exists(hostIfName) {
			return types.NewError(ErrAttachmentExists, "attachment exists",
				fmt.Sprintf("container %s already has interface %s on network %s: DEL it first", args.ContainerID, args.IfName, c.Name))
		}
		success := false
		if c.IPAM.Type != "" {
			if addr, err = p.allocate(ctx, c, args); err != nil {
				return err
			}
			defer func() {
				if !success {
					if rerr := c.ipamDel(ctx, args.StdinData); rerr != nil {
						err = errors.Join(err, fmt.Errorf("roll back: %w", rerr))
					}
				}
			}()
		}
		var ctr driver.Container
		if n, ctr, rec, err = c.attachment(args, hostIfName, addr); err != nil {
			return invalidConfig(err)
		}
		// The record comes first, so that GC can remove what a crash in
		// Attach would leave.
		if err := recs.put(rec); err != nil {
			return err
		}
		defer func() {
			if !success {
				if rerr := recs.remove(hostIfName); rerr != nil {
					err = errors.Join(err, fmt.Errorf("roll back: %w", rerr))
				}
			}
		}()
		if res, err = s.Attach(n, ctr); err != nil {
			return fmt.Errorf("attach container %s to network %s: %w", args.ContainerID, c.Name, err)
		}
		if bridgeMAC, hostMAC, err = dataplane.HostMACs(n.Bridge, ctr.Link); err != nil {
			return errors.Join(err, s.Detach(n, ctr))
		}
		success = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.log.Info("attached", "network", c.Name, "container", args.ContainerID, "ifname", args.IfName,
		"bridge", c.bridge, "veth", hostIfName, "addresses", rec.Addresses, "source", addr.source,
		"ports", len(rec.Ports), "labels", labelsAttr(rec.Labels))

	out := prev
	if out == nil {
		out = &current.Result{}
	}
	out.CNIVersion = current.ImplementedSpecVersion
	ctrIndex := len(out.Interfaces) + 2
	out.Interfaces = append(out.Interfaces,
		&current.Interface{Name: c.bridge, Mac: bridgeMAC.String()},
		&current.Interface{Name: hostIfName, Mac: hostMAC.String()},
		&current.Interface{Name: res.IfName, Mac: res.MAC.String(), Mtu: n.Bridge.MTU, Sandbox: args.Netns},
	)
	addr.addTo(out, ctrIndex)
	return out, nil
}

// allocate has the IPAM plugin allocate the container's addresses, and
// returns their addressing. If that fails, nothing stays allocated.
func (p *Plugin) allocate(ctx context.Context, c *config, args *skel.CmdArgs) (addressing, error) {
	res, err := c.ipamAdd(ctx, args.StdinData)
	if err != nil {
		// The spec asks for a DEL of a delegated plugin whose ADD failed.
		if rerr := c.ipamDel(ctx, args.StdinData); rerr != nil {
			p.log.Warn("release addresses after a failed allocation", "error", rerr)
		}
		return addressing{}, err
	}
	addr, err := c.ipamAddressing(res)
	if err != nil {
		return addressing{}, errors.Join(invalidConfig(err), c.ipamDel(ctx, args.StdinData))
	}
	return addr, nil
}

// attachment returns the network and the container to attach, and its
// record.
func (c *config) attachment(args *skel.CmdArgs, hostIfName string, addr addressing) (driver.Network, driver.Container, record, error) {
	n, err := c.network(c.bridge, addr)
	if err != nil {
		return driver.Network{}, driver.Container{}, record{}, err
	}
	rec := record{
		ContainerID:   args.ContainerID,
		IfName:        args.IfName,
		Netns:         args.Netns,
		CNIArgs:       args.Args,
		Bridge:        c.bridge,
		HostIfName:    hostIfName,
		AddressSource: addr.source,
		IPAM:          c.IPAM.Type,
		Labels:        c.labels(),
	}
	for _, ipc := range addr.ips {
		rec.Addresses = append(rec.Addresses, ipc.address)
	}
	if rec.Ports, err = n.PublishedPorts(c.portMappings, c.portFields); err != nil {
		return driver.Network{}, driver.Container{}, record{}, err
	}
	ctr := rec.container()
	ctr.Link.NetnsPath = args.Netns
	ctr.Link.IfName = args.IfName
	ctr.Link.MAC = c.mac
	ctr.Link.MTU = n.Bridge.MTU
	ctr.Link.Routes = addr.routes
	return n, ctr, rec, nil
}

// del detaches the container and releases its addresses. It succeeds when
// there is nothing to remove, and needs neither the container's netns nor
// the record: the veth pair is found by its host end, whose name derives
// from the attachment. The record is kept when a step fails, so that GC can
// try again.
func (p *Plugin) del(ctx context.Context, c *config, args *skel.CmdArgs) error {
	hostIfName := c.hostIfName(args.ContainerID, args.IfName)
	recs, err := openRecords(c.dataDir, c.Name)
	if err != nil {
		return err
	}
	rec, err := recs.get(hostIfName)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			p.log.Warn("unreadable record; the veth goes by its name", "veth", hostIfName, "error", err)
		}
		// Without the record the veth pair and the network's rules can
		// still go. Its ports are unknown: none were published when ADD
		// never wrote the record; when the record was corrupt, they stay
		// in the table until it goes with the plugin's last network.
		rec = record{ContainerID: args.ContainerID, IfName: args.IfName, Bridge: c.bridge, HostIfName: hostIfName}
	}
	return p.Driver.Locked(rec.Bridge, func(s *driver.Session) error {
		// The IPAM plugin releases the addresses while the kernel deletes
		// the veth pair, which is mostly waiting, for tens of
		// milliseconds: DEL takes the longer of the two rather than their
		// sum. The bridge's lock keeps any ADD on the bridge waiting for
		// both.
		released := make(chan error, 1)
		if c.IPAM.Type != "" {
			go func() { released <- c.ipamDel(ctx, args.StdinData) }()
		} else {
			released <- nil
		}
		var errs []error
		if err := c.detach(s, rec); err != nil {
			errs = append(errs, fmt.Errorf("detach container %s from network %s: %w", args.ContainerID, c.Name, err))
		}
		if err := <-released; err != nil {
			errs = append(errs, err)
		}
		if len(errs) == 0 {
			errs = append(errs, recs.remove(hostIfName))
		}
		return errors.Join(errs...)
	})
}

// check compares the attachment with prevResult, and asks the IPAM plugin
// to check its allocation.
func (p *Plugin) check(ctx context.Context, c *config, args *skel.CmdArgs) error {
	prev, err := c.prevResult()
	if err != nil {
		return err
	}
	if prev == nil {
		return invalidConfig(errors.New("CHECK needs prevResult, the result of the ADD"))
	}
	if c.IPAM.Type != "" {
		if err := c.ipamCheck(ctx, args.StdinData); err != nil {
			return err
		}
	}
	hostIfName := c.hostIfName(args.ContainerID, args.IfName)
	recs, err := openRecords(c.dataDir, c.Name)
	if err != nil {
		return err
	}
	rec, err := recs.get(hostIfName)
	if errors.Is(err, store.ErrNotFound) {
		return types.NewError(types.ErrUnknownContainer, "unknown attachment",
			fmt.Sprintf("container %s has no interface %s on network %s", args.ContainerID, args.IfName, c.Name))
	}
	if err != nil {
		return err
	}
	att := dataplane.Attachment{NetnsPath: args.Netns, IfName: args.IfName, HostIfName: hostIfName}
	index := -1
	for i, iface := range prev.Interfaces {
		if iface.Name == args.IfName && (iface.Sandbox == "" || iface.Sandbox == args.Netns) {
			index = i
		}
	}
	if index < 0 {
		return fmt.Errorf("prevResult lists no interface %s in %s", args.IfName, args.Netns)
	}
	if mac := prev.Interfaces[index].Mac; mac != "" {
		if att.MAC, err = net.ParseMAC(mac); err != nil {
			return invalidConfig(fmt.Errorf("prevResult: interface %s: %w", args.IfName, err))
		}
	}
	for _, ipc := range prev.IPs {
		if ipc.Interface == nil || *ipc.Interface != index {
			continue
		}
		prefix, ok := prefixOf(ipc.Address)
		if !ok {
			return invalidConfig(fmt.Errorf("prevResult: invalid address %v", ipc.Address))
		}
		att.Addresses = append(att.Addresses, prefix)
	}
	n, err := c.recorded(rec)
	if err != nil {
		return err
	}
	ctr := rec.container()
	ctr.Link = att
	if err := p.Driver.Check(n, ctr); err != nil {
		return fmt.Errorf("check container %s on network %s: %w", args.ContainerID, c.Name, err)
	}
	return nil
}

// recorded is the network of an attachment as its record has it: its
// bridge, and the subnets of its addresses.
func (c *config) recorded(rec record) (driver.Network, error) {
	var addr addressing
	for _, a := range rec.Addresses {
		addr.ips = append(addr.ips, ipConfig{address: a})
	}
	return c.network(rec.Bridge, addr)
}

// detach detaches the recorded attachment in the session s.
func (c *config) detach(s *driver.Session, rec record) error {
	n, err := c.recorded(rec)
	if err != nil {
		return err
	}
	return s.Detach(n, rec.container())
}

// gc removes the attachments of the network that are not in
// cni.dev/valid-attachments, releasing their addresses, and forwards GC to
// the IPAM plugin. It goes on past failures and reports them all.
func (p *Plugin) gc(ctx context.Context, c *config, args *skel.CmdArgs) error {
	valid := make(map[types.GCAttachment]bool, len(c.ValidAttachments))
	for _, a := range c.ValidAttachments {
		valid[a] = true
	}
	recs, err := openRecords(c.dataDir, c.Name)
	if err != nil {
		return err
	}
	names, err := recs.list()
	if err != nil {
		return err
	}
	// IPAM releases get the configuration without GC's keys (libcni sends
	// the list under both names).
	delConf, err := withoutKeys(args.StdinData, "cni.dev/valid-attachments", "cni.dev/attachments")
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if err := p.collect(ctx, c, recs, name, valid, delConf, args.Path); err != nil {
			errs = append(errs, err)
		}
	}
	if c.IPAM.Type != "" {
		if err := c.ipamGC(ctx, args.StdinData); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// collect removes the attachment recorded under hostIfName unless it is
// valid. It decides under the bridge's lock, with the record read again:
// a DEL may have removed it since GC listed it.
func (p *Plugin) collect(ctx context.Context, c *config, recs records, hostIfName string, valid map[types.GCAttachment]bool, delConf []byte, cniPath string) error {
	bridgeName := c.bridge
	rec, first := recs.get(hostIfName)
	if first == nil {
		if valid[types.GCAttachment{ContainerID: rec.ContainerID, IfName: rec.IfName}] {
			return nil
		}
		bridgeName = rec.Bridge
	}
	return p.Driver.Locked(bridgeName, func(s *driver.Session) error {
		rec, rerr := recs.get(hostIfName)
		if errors.Is(rerr, store.ErrNotFound) && errors.Is(first, store.ErrCorrupt) {
			// The first read found the record corrupt and moved it
			// aside: the attachment is still there to remove.
			rerr = first
		}
		switch {
		case errors.Is(rerr, store.ErrNotFound):
			return nil
		case rerr == nil && valid[types.GCAttachment{ContainerID: rec.ContainerID, IfName: rec.IfName}]:
			return nil
		case rerr != nil:
			rec = record{Bridge: bridgeName, HostIfName: hostIfName}
		}

		var errs []error
		if err := c.detach(s, rec); err != nil {
			errs = append(errs, fmt.Errorf("gc %s: %w", hostIfName, err))
		}
		switch {
		case rerr != nil:
			// Without the record the IPAM plugin cannot be told whose
			// addresses to release; the veth pair is gone all the same.
			p.log.Warn("gc: unreadable record; its addresses, if any, stay allocated", "veth", hostIfName, "error", rerr)
		case rec.IPAM != "" && rec.IPAM != c.IPAM.Type:
			errs = append(errs, fmt.Errorf("gc %s: addresses of container %s come from ipam %s, which the configuration no longer names",
				hostIfName, rec.ContainerID, rec.IPAM))
		case rec.IPAM != "":
			if err := c.ipamDelRecorded(ctx, delConf, rec, cniPath); err != nil {
				errs = append(errs, fmt.Errorf("gc %s: release addresses of container %s: %w", hostIfName, rec.ContainerID, err))
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if err := recs.remove(hostIfName); err != nil {
			return err
		}
		p.log.Info("gc: removed attachment", "network", c.Name, "container", rec.ContainerID, "ifname", rec.IfName, "veth", hostIfName)
		return nil
	})
}

// status reports whether ADD can work: the plugin's directories can be
// created, and the IPAM plugin, if any, says it is ready.
func (p *Plugin) status(ctx context.Context, c *config, args *skel.CmdArgs) error {
	for _, dir := range []string{c.dataDir, p.Driver.LockDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return types.NewError(types.ErrPluginNotAvailable, "plugin not available", err.Error())
		}
	}
	if c.IPAM.Type != "" {
		return c.ipamStatus(ctx, args.StdinData)
	}
	return nil
}

// prevResult returns the configuration's prevResult as a current result,
// or nil when there is none.
func (c *config) prevResult() (*current.Result, error) {
	if c.RawPrevResult == nil {
		return nil, nil
	}
	if err := version.ParsePrevResult(&c.PluginConf); err != nil {
		return nil, types.NewError(types.ErrDecodingFailure, "decode prevResult", err.Error())
	}
	prev, err := current.NewResultFromResult(c.PrevResult)
	if err != nil {
		return nil, types.NewError(types.ErrDecodingFailure, "convert prevResult", err.Error())
	}
	return prev, nil
}

// labelsAttr turns labels into one log attribute, key=value each.
func labelsAttr(labels []Label) slog.Value {
	attrs := make([]slog.Attr, 0, len(labels))
	for _, l := range labels {
		attrs = append(attrs, slog.String(l.Key, l.Value))
	}
	return slog.GroupValue(attrs...)
}
