package cni

import (
	"errors"
	"net/netip"

	"example.com/demo/internal/dataplane"
	"example.com/demo/internal/driver"
	"example.com/demo/internal/firewall"
	"example.com/demo/internal/store"
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

// container is the recorded attachment for the driver: enough to detach it
// (its host end), its addresses and its published ports.
func (r record) container() driver.Container {
	return driver.Container{
		ID:    r.ContainerID + "/" + r.IfName,
		Name:  r.ContainerID[:min(len(r.ContainerID), 12)] + " " + r.IfName,
		Link:  dataplane.Attachment{HostIfName: r.HostIfName, Addresses: r.Addresses},
		Ports: r.Ports,
	}
}

// records keeps the records of one network, one each named after the
// attachment's host interface, in a store in dataDir whose kind is the
// network's name: DATADIR/NETWORK/vethXXXXXXXXXXX.json. The name alone is
// enough to remove the veth pair of a record that cannot be read. Writers
// hold the bridge's lock.
type records struct {
	st      *store.Store
	network string
}

func openRecords(dataDir, network string) (records, error) {
	st, err := store.Open(dataDir)
	return records{st: st, network: network}, err
}

// get returns the record of the attachment whose host end is hostIfName:
// store.ErrNotFound if there is none.
func (r records) get(hostIfName string) (record, error) {
	var rec record
	err := r.st.Get(r.network, hostIfName, &rec)
	return rec, err
}

// exists reports whether there is a record of hostIfName, readable or not.
func (r records) exists(hostIfName string) bool {
	_, err := r.get(hostIfName)
	return !errors.Is(err, store.ErrNotFound)
}

func (r records) put(rec record) error {
	return r.st.Put(r.network, rec.HostIfName, rec)
}

func (r records) remove(hostIfName string) error {
	return r.st.Delete(r.network, hostIfName)
}

// list returns the host interface names of the network's records.
func (r records) list() ([]string, error) {
	return r.st.List(r.network)
}
