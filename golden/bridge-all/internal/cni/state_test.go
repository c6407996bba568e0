package cni

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"example.com/demo/internal/firewall"
	"example.com/demo/internal/store"
)

// TestRecords checks the records of a network over package store, which
// tests writing them safely: what a put wrote comes back, a corrupt record
// exists but is no record, and a removed one is gone.
func TestRecords(t *testing.T) {
	dir := t.TempDir()
	recs, err := openRecords(dir, "net")
	if err != nil {
		t.Fatal(err)
	}
	if names, err := recs.list(); err != nil || len(names) != 0 {
		t.Fatalf("list of a new store = %v, %v; want nothing", names, err)
	}
	a := record{
		ContainerID: "ctr-a", IfName: "eth0", Bridge: "br-net", HostIfName: "veth0123456789a",
		Addresses: prefixes("10.1.0.5/24"), AddressSource: sourceArgs,
		Labels: []Label{{Key: "app", Value: "web"}},
		Ports:  []firewall.Port{{Protocol: firewall.TCP, HostPort: 8080, ContainerPort: 80, Range: 1}},
	}
	b := record{ContainerID: "ctr-b", IfName: "eth0", Bridge: "br-net", HostIfName: "vethbbbbbbbbbbb", IPAM: "host-local"}
	for _, r := range []record{a, b} {
		if err := recs.put(r); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := recs.get(a.HostIfName); err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("get = %+v, %v; want %+v", got, err, a)
	}
	if names, err := recs.list(); err != nil || !slices.Equal(names, []string{a.HostIfName, b.HostIfName}) {
		t.Errorf("list = %v, %v; want %s and %s", names, err, a.HostIfName, b.HostIfName)
	}
	for range 2 {
		if err := recs.remove(a.HostIfName); err != nil {
			t.Errorf("remove: %v", err)
		}
	}
	if _, err := recs.get(a.HostIfName); !errors.Is(err, store.ErrNotFound) || recs.exists(a.HostIfName) {
		t.Errorf("get after remove: %v, want not found", err)
	}

	// A record that does not decode exists, but is no record: the store
	// moves it aside the first time it is read.
	corrupt := filepath.Join(dir, "net", "vethcccccccccccc.json")
	for _, read := range []func() error{
		func() error { _, err := recs.get("vethcccccccccccc"); return err },
		func() error {
			if !recs.exists("vethcccccccccccc") {
				return errors.New("a corrupt record does not exist")
			}
			return store.ErrCorrupt
		},
	} {
		if err := os.WriteFile(corrupt, []byte("not json"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := read(); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("read of a corrupt record: %v, want a decoding error", err)
		}
		if _, err := recs.get("vethcccccccccccc"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get of a corrupt record read before: %v, want not found", err)
		}
	}
	if aside, _ := filepath.Glob(corrupt + ".corrupt-*"); len(aside) != 2 {
		t.Errorf("corrupt records moved aside: %v, want two", aside)
	}
}
