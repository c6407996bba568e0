package cni

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"example.com/demo/internal/firewall"
)

// record is what the plugin remembers of one attachment. GC needs it: it
// gets only the attachments that are still valid, and must find the others
// itself. DEL and CHECK use it too, but DEL works without it.
type record struct {
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifname"`
	Netns       string `json:"netns,omitempty"`
	// CNIArgs is CNI_ARGS of the ADD, passed again to the IPAM plugin when
	// GC releases the attachment's addresses.
	CNIArgs    string `json:"cniArgs,omitempty"`
	Bridge     string `json:"bridge"`
	HostIfName string `json:"hostIfName"`
	// Addresses and AddressSource say which addresses the container got and
	// where from: one of the sources of requestedAddresses, or "ipam TYPE".
	Addresses     []netip.Prefix `json:"addresses,omitempty"`
	AddressSource string         `json:"addressSource,omitempty"`
	// IPAM is the type of the IPAM plugin that allocated the addresses;
	// empty when they were requested without an ipam section.
	IPAM   string  `json:"ipam,omitempty"`
	Labels []Label `json:"labels,omitempty"`
	// Ports are the ports published for the container, as applied.
	Ports []firewall.Port `json:"ports,omitempty"`
}

// container is the recorded attachment as the firewall sees it.
func (r record) container() firewall.Container {
	c := firewall.Container{ID: r.ContainerID + "/" + r.IfName, Name: r.ContainerID[:min(len(r.ContainerID), 12)] + " " + r.IfName, Ports: r.Ports}
	for _, a := range r.Addresses {
		c.Addresses = append(c.Addresses, a.Addr())
	}
	return c
}

// store keeps the records of one network, a file each named after the
// attachment's host interface: DATADIR/NETWORK/vethXXXXXXXXXXX.json. The name
// alone is enough to remove the veth pair of a record that cannot be read.
//
// A record is written to a temporary file and renamed into place, so a
// reader sees the old record or the new one, never a part. The file is not
// synced: a power loss takes the attachments with it, and GC removes
// records the runtime no longer lists. Writers hold the bridge's lock.
type store struct {
	dir string
}

const (
	recordExt = ".json"
	tmpExt    = ".tmp"
)

func openStore(dataDir, network string) store {
	return store{dir: filepath.Join(dataDir, network)}
}

func (s store) path(hostIfName string) string {
	return filepath.Join(s.dir, hostIfName+recordExt)
}

// get returns the record of the attachment whose host end is hostIfName.
// A record that is missing returns fs.ErrNotExist.
func (s store) get(hostIfName string) (record, error) {
	data, err := os.ReadFile(s.path(hostIfName))
	if err != nil {
		return record{}, err
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return record{}, fmt.Errorf("read record %s: %w", s.path(hostIfName), err)
	}
	return r, nil
}

// exists reports whether there is a record for hostIfName, readable or not.
func (s store) exists(hostIfName string) (bool, error) {
	_, err := os.Lstat(s.path(hostIfName))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// put writes r, replacing any record of the same attachment.
func (s store) put(r record) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	final := s.path(r.HostIfName)
	tmp := final + tmpExt
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write record: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write record: %w", err)
	}
	return nil
}

// remove deletes the record of hostIfName, and any write of it that a crash
// interrupted. A missing record is not an error.
func (s store) remove(hostIfName string) error {
	var errs []error
	for _, p := range []string{s.path(hostIfName), s.path(hostIfName) + tmpExt} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// list returns the host interface names of the network's records. A write
// that a crash interrupted leaves a temporary file that list skips: put and
// remove of the same attachment replace or remove it.
func (s store) list() ([]string, error) {
	files, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	var names []string
	for _, f := range files {
		if name, ok := strings.CutSuffix(f.Name(), recordExt); ok && !f.IsDir() {
			names = append(names, name)
		}
	}
	return names, nil
}
